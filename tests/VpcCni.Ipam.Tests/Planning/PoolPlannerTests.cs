using VpcCni.Cloud;
using VpcCni.Ipam.Tests.Policies;

namespace VpcCni.Ipam.Tests.Planning;

public sealed class PoolPlannerTests
{
    private static readonly InstanceLimits T3Small = new("t3.small", 3, 4);
    private static readonly InstanceLimits P3dn = new("p3dn.24xlarge", 15, 50);

    public static TheoryData<string, int, int, int, int, int, int[]> SecondaryIpRows => UpstreamWorkedExampleTests.SecondaryIpRows;

    [Theory]
    [MemberData(nameof(SecondaryIpRows))]
    public void Plan_UpstreamEniAndIpTargetTable_ThroughTheController(string instance, int warmEni, int warmIp, int minIp, int pods, int enis, int[] ipsPerEni)
    {
        var plan = PoolPlanner.Plan(instance == "t3.small" ? T3Small : P3dn, new IpamOptions { WarmEniTarget = warmEni, WarmIpTarget = warmIp, MinimumIpTarget = minIp }, pods);
        plan.Enis.Should().Be(enis);
        plan.IpsPerEni.OrderByDescending(x => x).Should().Equal(ipsPerEni.OrderByDescending(x => x));
        plan.AssignedIps.Should().Be(pods);
        plan.UnusedIps.Should().Be(ipsPerEni.Sum() - pods);
    }

    public static TheoryData<string, int, int, int, int, int, int[], int> PrefixRows => UpstreamWorkedExampleTests.PrefixRows;

    [Theory]
    [MemberData(nameof(PrefixRows))]
    public void Plan_UpstreamPrefixTable_ThroughTheController(string instance, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int unused)
    {
        var options = new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp, MaxPods = instance == "t3.small" ? 110 : null };
        var plan = PoolPlanner.Plan(instance == "t3.small" ? T3Small : P3dn, options, pods);
        plan.Enis.Should().Be(enis);
        plan.PrefixesPerEni.OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        plan.Prefixes.Should().Be(prefixesPerEni.Sum());
        plan.UnusedIps.Should().Be(unused);
    }

    [Fact]
    public void Plan_MorePodsThanTheNodeHolds_AssignsOnlyWhatFits()
    {
        var plan = PoolPlanner.Plan(T3Small, new IpamOptions(), 20);
        plan.TotalIps.Should().Be(9);
        plan.AssignedIps.Should().Be(9);
        plan.UnusedIps.Should().Be(0);
    }

    [Fact]
    public void Plan_ToJson_HasTheDocumentedShape()
    {
        PoolPlanner.Plan(T3Small, new IpamOptions(), 5).ToJson().Should().Be(
            "{\"enis\":3,\"ipsPerEni\":[3,3,3],\"prefixes\":0,\"prefixesPerEni\":[0,0,0],\"totalIps\":9,\"assignedIps\":5,\"unusedIps\":4}");
    }

    [Fact]
    public void Plan_ContradictoryOptions_FailNamingTheVariable()
    {
        var act = () => PoolPlanner.Plan(T3Small, new IpamOptions { EnablePrefixDelegation = true }, 1);
        act.Should().Throw<ArgumentException>().WithMessage("*ENABLE_PREFIX_DELEGATION*");
        var negative = () => PoolPlanner.Plan(T3Small, new IpamOptions(), -1);
        negative.Should().Throw<ArgumentException>().WithMessage("*--pods*");
    }
}
