using System.Net;
using System.Text;
using VpcCni.Aws.Simulation;
using FluentAssertions;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using Xunit;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class DaemonSettingsExternalServiceTests
{
    private static DaemonSettings Read(string? value) =>
        DaemonSettings.FromEnvironment(EnvironmentReader.From(value is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["AWS_EXTERNAL_SERVICE_CIDRS"] = value }));

    [Fact]
    public void FromEnvironment_ExternalServiceCidrs_ParsedInOrder()
    {
        Read("203.0.113.0/24, 10.100.0.1/16").ExternalServiceCidrs.Should().Equal(IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("10.100.0.0/16"));
    }

    [Fact]
    public void FromEnvironment_ExternalServiceCidrsUnset_Empty()
    {
        Read(null).ExternalServiceCidrs.Should().BeEmpty();
    }

    [Theory]
    [InlineData("203.0.113.0")]
    [InlineData("2001:db8::/32")]
    public void FromEnvironment_InvalidExternalServiceCidr_ErrorNamesVariable(string value)
    {
        var act = () => Read(value);

        act.Should().Throw<InvalidSettingException>().Where(e => e.Name == "AWS_EXTERNAL_SERVICE_CIDRS");
    }

    [Fact]
    public async Task NetworkSettingsIntrospection_ExternalServiceCidrs_ListedAsUpstream()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(Directory.CreateTempSubdirectory("vpccni-extsvc-").FullName, "ipam.json"),
            ExternalServiceCidrs = [IPNetwork.Parse("203.0.113.0/24")],
        };
        await using var node = DaemonNodes.Create(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);

        var body = Encoding.UTF8.GetString(Introspection.Handle("/v1/networkutils-env-settings", node, settings).Body);

        body.Should().Contain("\"AWS_EXTERNAL_SERVICE_CIDRS\":[\"203.0.113.0/24\"]");
    }
}
