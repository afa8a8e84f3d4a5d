using System.Globalization;
using VpcCni.Aws.Limits;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Limits;

public class InstanceLimitsTableTests
{
    /// <summary>The table's source, eng/data/instance-limits.csv in the repository.</summary>
    private static string FindCsv()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return Path.Combine(dir.FullName, "eng", "data", "instance-limits.csv");
            }
        }

        throw new InvalidOperationException("VpcCni.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Rows_EqualTheCheckedInCsvRowForRow()
    {
        var csv = FindCsv();
        File.Exists(csv).Should().BeTrue($"{csv} is the table's source and is checked in");

        var lines = File.ReadAllLines(csv).Skip(1).Where(l => l.Trim().Length > 0).ToArray();
        InstanceLimitsTable.Rows.Should().HaveCount(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var f = lines[i].Trim().Split(',');
            var row = InstanceLimitsTable.Rows[i];
            var cards = string.Join(';', row.MaxEnisPerCard.Select((max, card) => $"{card}:{max}"));
            var rendered = string.Join(',',
                row.InstanceType,
                row.MaxEnis.ToString(CultureInfo.InvariantCulture),
                row.IPv4PerEni.ToString(CultureInfo.InvariantCulture),
                row.DefaultNetworkCard.ToString(CultureInfo.InvariantCulture),
                row.Hypervisor,
                row.BareMetal ? "true" : "false",
                cards);
            rendered.Should().Be(string.Join(',', f), $"row {i + 2} of {csv} must match the generated table; rerun eng/gen-instance-limits.cs");
        }
    }

    [Theory]
    [InlineData("m5.large", 3, 10, 1, "nitro", false)]
    [InlineData("t2.micro", 2, 2, 1, "xen", false)]
    [InlineData("c5.metal", 15, 50, 1, "unknown", true)]
    [InlineData("p5.48xlarge", 2, 50, 32, "nitro", false)]
    public void Get_KnownType_ReturnsCsvLimits(string type, int enis, int ips, int cards, string hypervisor, bool metal)
    {
        var limits = InstanceLimitsCatalog.Get(type);

        limits.Should().Be(new InstanceLimits(type, enis, ips)
        {
            NetworkCards = cards,
            Hypervisor = hypervisor,
            IsBareMetal = metal,
        });
    }

    [Fact]
    public void Get_PrefixDelegationSupport_FollowsHypervisorAndBareMetal()
    {
        InstanceLimitsCatalog.Get("m5.large").SupportsPrefixDelegation.Should().BeTrue();
        InstanceLimitsCatalog.Get("t2.micro").SupportsPrefixDelegation.Should().BeFalse();
        InstanceLimitsCatalog.Get("c5.metal").SupportsPrefixDelegation.Should().BeTrue();
    }

    [Fact]
    public void Get_UnknownType_ThrowsNamingTheType()
    {
        var act = () => InstanceLimitsCatalog.Get("zz9.galactic");

        act.Should().Throw<CloudException>().Which.Message.Should().Contain("'zz9.galactic'");
        InstanceLimitsCatalog.TryGet("zz9.galactic", out _).Should().BeFalse();
        InstanceLimitsCatalog.Count.Should().Be(1391);
    }
}
