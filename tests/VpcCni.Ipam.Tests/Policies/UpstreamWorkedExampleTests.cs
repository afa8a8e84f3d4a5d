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

    /// <summary>
    /// docs/prefix-and-ip-target.md, every row: instance, WARM_PREFIX, WARM_IP, MIN_IP, pods → ENIs, prefixes per ENI,
    /// pods per ENI, unused (free) prefixes, unused IPs (the docs' "Pod per Prefixes" follows from pods per ENI).
    /// The docs run 58 pods on a t3.small, so its kubelet's max pods is the prefix-delegation figure.
    /// </summary>
    public static TheoryData<string, int, int, int, int, int, int[], int[], int, int> PrefixRows => new()
    {
        { "t3.small", 1, 0, 0, 0, 1, [1], [0], 1, 16 },
        { "t3.small", 1, 0, 0, 5, 1, [2], [5], 1, 27 },
        { "t3.small", 1, 0, 0, 16, 1, [2], [16], 1, 16 },
        { "t3.small", 1, 0, 0, 17, 1, [3], [17], 1, 31 },
        { "t3.small", 1, 0, 0, 58, 2, [3, 2], [48, 10], 1, 22 },
        { "t3.small", 0, 1, 1, 0, 1, [1], [0], 1, 16 },
        { "t3.small", 0, 1, 1, 5, 1, [1], [5], 0, 11 },
        { "t3.small", 0, 1, 1, 17, 1, [2], [17], 0, 15 },
        { "t3.small", 0, 1, 1, 58, 2, [3, 1], [48, 10], 0, 6 },
        // Docs disagree with code: 1 attached prefix, 16 unused IPs (while the same row says "0,0" pods per prefix and 2
        // prefixes per ENI). Code: ceil(MINIMUM_IP_TARGET 20 / 16) = 2 prefixes, both free, 32 unused (reference §2.4, §8.1.21).
        { "t3.small", 0, 7, 20, 0, 1, [2], [0], 2, 32 },
        { "t3.small", 0, 7, 20, 5, 1, [2], [5], 1, 27 },
        { "t3.small", 0, 7, 20, 17, 1, [2], [17], 0, 15 },
        { "t3.small", 0, 7, 20, 58, 2, [3, 2], [48, 10], 1, 22 },
        { "p3dn.24xlarge", 1, 0, 0, 0, 1, [1], [0], 1, 16 },
        // Docs disagree with code: 2 ENIs ("2,0" prefixes, "3,0" pods). Code: a new ENI only when no attached ENI can take
        // a prefix (§2.7 step B), and a new ENI always gets ≥ 1 prefix, so an ENI with 0 prefixes cannot arise: 1 ENI.
        { "p3dn.24xlarge", 1, 0, 0, 3, 1, [2], [3], 1, 29 },
        // Docs disagree with code: 3 ENIs ("7,0,0"). Code: 1 ENI with 7 prefixes (same reason).
        { "p3dn.24xlarge", 1, 0, 0, 95, 1, [7], [95], 1, 17 },
        { "p3dn.24xlarge", 0, 5, 10, 0, 1, [1], [0], 1, 16 },
        { "p3dn.24xlarge", 0, 5, 10, 7, 1, [1], [7], 0, 9 },
        { "p3dn.24xlarge", 0, 5, 10, 15, 1, [2], [15], 1, 17 },
        // Docs disagree with code: 2 ENIs ("4,0"). Code: 1 ENI with 4 prefixes (same reason).
        { "p3dn.24xlarge", 0, 5, 10, 45, 1, [4], [45], 1, 19 },
    };

    /// <summary>The PD max pods the docs' nodes run with (max-pods calculator with prefix delegation, ≤ 30 vCPUs: 110).</summary>
    public static PoolLimits PrefixLimits(string instance) => instance == "t3.small" ? PolicyHarness.T3Small with { MaxPods = 110 } : PolicyHarness.P3dn with { MaxPods = 250 };

    [Theory]
    [MemberData(nameof(PrefixRows))]
    public void PrefixAndIpTargetTable_PrefixDelegation_MatchesUpstreamCode(string instance, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int[] podsPerEni, int freePrefixes, int unused)
    {
        var harness = new PolicyHarness(
            new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp },
            PrefixLimits(instance)).WithPods(pods);

        harness.Enis.Should().HaveCount(enis);
        harness.Enis.Select(e => e.Cidrs).OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        harness.Enis.Select(e => e.Assigned).OrderByDescending(x => x).Should().Equal(podsPerEni.OrderByDescending(x => x));
        var stats = harness.Datastore.GetStats();
        stats.TotalPrefixes.Should().Be(prefixesPerEni.Sum());
        stats.FreePrefixes.Should().Be(freePrefixes);
        (stats.TotalIPs - stats.AssignedIPs).Should().Be(unused);
    }
}
