using VpcCni.Ipam.Tests.Support;

namespace VpcCni.Ipam.Tests.Policies;

/// <summary>
/// Upstream's docs/eni-and-ip-target.md and docs/prefix-and-ip-target.md tables, pod by pod to convergence.
/// Where a docs row disagrees with upstream's code (which the issue says wins), the code's figure is asserted and
/// the docs figure is named in the case's comment; see docs/upstream-differences.md.
/// </summary>
public sealed class UpstreamWorkedExampleTests
{
    public static TheoryData<string, int, int, int, int, int, int[]> SecondaryIpRows => new()
    {
        // instance, WARM_ENI, WARM_IP, MIN_IP, pods → ENIs, IPs per ENI (sorted desc); unused derives from them.
        { "t3.small", 1, 0, 0, 0, 1, [3] },
        { "t3.small", 1, 0, 0, 5, 3, [3, 3, 3] },
        { "t3.small", 1, 0, 0, 9, 3, [3, 3, 3] },
        { "t3.small", 0, 1, 1, 0, 1, [1] },
        { "t3.small", 0, 1, 1, 5, 2, [3, 3] },
        { "t3.small", 0, 1, 1, 9, 3, [3, 3, 3] },
        { "t3.small", 0, 2, 5, 0, 2, [3, 2] },
        { "t3.small", 0, 2, 5, 5, 3, [3, 3, 1] },
        { "t3.small", 0, 2, 5, 9, 3, [3, 3, 3] },
        { "p3dn.24xlarge", 1, 0, 0, 0, 1, [49] },
        { "p3dn.24xlarge", 1, 0, 0, 3, 2, [49, 49] },
        { "p3dn.24xlarge", 1, 0, 0, 95, 3, [49, 49, 49] },
        { "p3dn.24xlarge", 0, 5, 10, 0, 1, [10] },
        { "p3dn.24xlarge", 0, 5, 10, 7, 1, [12] },
        { "p3dn.24xlarge", 0, 5, 10, 15, 1, [20] },
        { "p3dn.24xlarge", 0, 5, 10, 45, 2, [49, 1] },
    };

    [Theory]
    [MemberData(nameof(SecondaryIpRows))]
    public void EniAndIpTargetTable_SecondaryIpMode_MatchesUpstreamDocs(string instance, int warmEni, int warmIp, int minIp, int pods, int enis, int[] ipsPerEni)
    {
        var harness = new PolicyHarness(
            new IpamOptions { WarmEniTarget = warmEni, WarmIpTarget = warmIp, MinimumIpTarget = minIp },
            instance == "t3.small" ? PolicyHarness.T3Small : PolicyHarness.P3dn).WithPods(pods);

        var perEni = harness.Enis.Select(e => e.Addresses).OrderByDescending(x => x).ToArray();
        harness.Enis.Should().HaveCount(enis);
        perEni.Should().Equal(ipsPerEni.OrderByDescending(x => x));
        var stats = harness.Datastore.GetStats();
        stats.TotalIPs.Should().Be(ipsPerEni.Sum());
        stats.AssignedIPs.Should().Be(pods);
    }

    public static TheoryData<string, int, int, int, int, int, int[], int> PrefixRows => new()
    {
        // instance, WARM_PREFIX, WARM_IP, MIN_IP, pods → ENIs, prefixes per ENI, unused IPs.
        { "t3.small", 1, 0, 0, 0, 1, [1], 16 },
        { "t3.small", 1, 0, 0, 5, 1, [2], 27 },
        { "t3.small", 1, 0, 0, 16, 1, [2], 16 },
        { "t3.small", 1, 0, 0, 17, 1, [3], 31 },
        { "t3.small", 1, 0, 0, 58, 2, [3, 2], 22 },
        { "t3.small", 0, 1, 1, 0, 1, [1], 16 },
        { "t3.small", 0, 1, 1, 5, 1, [1], 11 },
        { "t3.small", 0, 1, 1, 17, 1, [2], 15 },
        { "t3.small", 0, 1, 1, 58, 2, [3, 1], 6 },
        // Docs: 1 prefix / 16 unused. Code: ceil(MINIMUM_IP_TARGET 20 / 16) = 2 prefixes (reference §8.1.21).
        { "t3.small", 0, 7, 20, 0, 1, [2], 32 },
        { "t3.small", 0, 7, 20, 5, 1, [2], 27 },
        { "t3.small", 0, 7, 20, 17, 1, [2], 15 },
        { "t3.small", 0, 7, 20, 58, 2, [3, 2], 22 },
        { "p3dn.24xlarge", 1, 0, 0, 0, 1, [1], 16 },
        // Docs: 2 ENIs ("2,0"). Code: a new ENI only when no attached ENI can take a prefix; 1 ENI.
        { "p3dn.24xlarge", 1, 0, 0, 3, 1, [2], 29 },
        // Docs: 3 ENIs ("7,0,0"). Code: 1 ENI with 7 prefixes.
        { "p3dn.24xlarge", 1, 0, 0, 95, 1, [7], 17 },
        { "p3dn.24xlarge", 0, 5, 10, 0, 1, [1], 16 },
        { "p3dn.24xlarge", 0, 5, 10, 7, 1, [1], 9 },
        { "p3dn.24xlarge", 0, 5, 10, 15, 1, [2], 17 },
        // Docs: 2 ENIs ("4,0"). Code: 1 ENI with 4 prefixes.
        { "p3dn.24xlarge", 0, 5, 10, 45, 1, [4], 19 },
    };

    [Theory]
    [MemberData(nameof(PrefixRows))]
    public void PrefixAndIpTargetTable_PrefixDelegation_MatchesUpstreamCode(string instance, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int unused)
    {
        var harness = new PolicyHarness(
            new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp },
            // The docs run 58 pods on a t3.small, so kubelet's max pods is raised there (PD max-pods calculator: 110).
            instance == "t3.small" ? PolicyHarness.T3Small with { MaxPods = 110 } : PolicyHarness.P3dn).WithPods(pods);

        harness.Enis.Should().HaveCount(enis);
        harness.Enis.Select(e => e.Cidrs).OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        var stats = harness.Datastore.GetStats();
        stats.TotalPrefixes.Should().Be(prefixesPerEni.Sum());
        (stats.TotalIPs - stats.AssignedIPs).Should().Be(unused);
    }
}
