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

    public static TheoryData<string, int, int, int, int, int, int[], int[], int, int> PrefixRows => UpstreamWorkedExampleTests.PrefixRows;

    [Theory]
    [MemberData(nameof(PrefixRows))]
    public void Plan_UpstreamPrefixTable_ThroughTheController(string instance, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int[] podsPerEni, int freePrefixes, int unused)
    {
        _ = freePrefixes;
        var maxPods = UpstreamWorkedExampleTests.PrefixLimits(instance).MaxPods;
        var options = new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp, MaxPods = maxPods };
        var plan = PoolPlanner.Plan(instance == "t3.small" ? T3Small : P3dn, options, pods);
        plan.Enis.Should().Be(enis);
        plan.PrefixesPerEni.OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        plan.Prefixes.Should().Be(prefixesPerEni.Sum());
        plan.UnusedIps.Should().Be(unused);
        plan.PlacedPods.Should().Be(podsPerEni.Sum());
        plan.MaxPods.Should().Be(maxPods);
        plan.UnplacedReason.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(PrefixRows))]
    public void Plan_UpstreamPrefixTableWithoutMaxPods_TakesThePrefixDelegationFigure(string instance, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int[] podsPerEni, int freePrefixes, int unused)
    {
        // Nothing says max pods: the node a PD setup gives (ENIs × prefixes × 16 + 2), not eni-max-pods.txt's 11 on a
        // t3.small, which stopped the pool at its first prefix.
        _ = (enis, podsPerEni, freePrefixes);
        var limits = instance == "t3.small" ? T3Small : P3dn;
        var plan = PoolPlanner.Plan(limits, new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp }, pods);
        plan.MaxPods.Should().Be(MaxPodsCalculator.Calculate(limits, new MaxPodsOptions(PrefixDelegation: true)));
        plan.PrefixesPerEni.OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        plan.UnusedIps.Should().Be(unused);
    }

    [Fact]
    public void Plan_PrefixDelegationT3SmallFivePods_KeepsTwoPrefixes()
    {
        var plan = PoolPlanner.Plan(T3Small, new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 }, 5);
        plan.Prefixes.Should().Be(2);
        plan.UnusedIps.Should().Be(27);
    }

    [Fact]
    public void Plan_MorePodsThanTheEnisHold_PlacesWhatFitsAndNamesTheEniLimit()
    {
        var plan = PoolPlanner.Plan(T3Small, new IpamOptions(), 20);
        plan.TotalIps.Should().Be(9);
        plan.AssignedIps.Should().Be(9);
        plan.UnusedIps.Should().Be(0);
        plan.RequestedPods.Should().Be(20);
        plan.PlacedPods.Should().Be(9);
        plan.UnplacedReason.Should().Be("ENI limit (3 ENIs × 3 addresses on t3.small)");
    }

    [Fact]
    public void Plan_PrefixDelegationPastTheEnis_NamesTheEniLimitInPrefixes()
    {
        var plan = PoolPlanner.Plan(T3Small, new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1, MaxPods = 200 }, 150);
        plan.Prefixes.Should().Be(9);
        plan.PlacedPods.Should().Be(144);
        plan.UnplacedReason.Should().Be("ENI limit (3 ENIs × 3 prefixes × 16 addresses on t3.small)");
    }

    [Theory]
    [InlineData(false, 5, 8, 5)]
    [InlineData(true, 110, 120, 110)]
    [InlineData(true, 20, 40, 20)]
    public void Plan_MorePodsThanMaxPods_PlacesMaxPodsAndSaysSo(bool pd, int maxPods, int pods, int placed)
    {
        var options = new IpamOptions { EnablePrefixDelegation = pd, WarmPrefixTarget = pd ? 1 : 0, MaxPods = maxPods };
        var plan = PoolPlanner.Plan(T3Small, options, pods);
        plan.PlacedPods.Should().Be(placed);
        plan.AssignedIps.Should().Be(placed);
        plan.UnplacedReason.Should().Be($"max pods ({maxPods})");
        if (pd)
        {
            // The pool ends within one prefix's rounding of max pods.
            plan.TotalIps.Should().Be((maxPods + 15) / 16 * 16);
        }
    }

    [Fact]
    public void Plan_SubnetRunsOut_NamesTheSubnet()
    {
        // 4 free addresses: the primary ENI's 3 secondaries take three, a second ENI's own primary address the last.
        var plan = PoolPlanner.Plan(T3Small, new IpamOptions(), 8, subnetFreeAddresses: 4);
        plan.PlacedPods.Should().Be(3);
        plan.UnplacedReason.Should().Be("subnet full (no free address in the subnet)");
    }

    [Fact]
    public void Plan_ToJson_HasTheDocumentedShape()
    {
        PoolPlanner.Plan(T3Small, new IpamOptions(), 5).ToJson().Should().Be(
            "{\"enis\":3,\"ipsPerEni\":[3,3,3],\"prefixes\":0,\"prefixesPerEni\":[0,0,0],\"totalIps\":9,\"assignedIps\":5,\"unusedIps\":4," +
            "\"requestedPods\":5,\"placedPods\":5,\"maxPods\":11,\"unplacedReason\":null}");
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
