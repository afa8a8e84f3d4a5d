using System.Net;

namespace VpcCni.Ipam.Tests.Policies;

public sealed class BurstPoolPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    // m5.4xlarge: 8 ENIs × 30 IPv4, 29 per ENI for pods.
    private static readonly PoolLimits M54xlarge = new(8, 30, 234);

    private static EniState Eni(string id, int device, int cidrs, int assigned) =>
        new(id, device, device == 0, false, false, false, Now.AddHours(-1), cidrs, cidrs, cidrs, assigned, 0,
            [.. Enumerable.Range(0, Math.Max(0, cidrs - assigned)).Select(i => new IPNetwork(new PodAddress((uint)(0x0A000000 + device * 256 + i)).ToIPAddress(), 32))],
            cidrs - assigned, []);

    private static PoolSnapshot Snapshot(int peakAssigned, int waiting, double addsPerSecond, params EniState[] enis) =>
        new(new PoolStats(enis.Sum(e => e.Addresses), enis.Sum(e => e.Assigned), 0, 0, 0, 0), enis, Now)
        {
            PeakAssigned = peakAssigned,
            WaitingAssignments = waiting,
            AddsPerSecond = addsPerSecond,
            AddsInLeadTime = (int)Math.Ceiling(addsPerSecond * 10),
        };

    [Fact]
    public void Decide_WarmingUp_KeepsUpstreamsWarmEni()
    {
        // 5 pods on a full primary ENI: upstream's WARM_ENI_TARGET=1 adds a whole ENI; so does the burst policy until
        // the node has held one ENI's worth of pods.
        var snapshot = Snapshot(5, 0, 0.1, Eni("eni-0", 0, 29, 5));

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Grow.Should().Equal(UpstreamPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions()).Grow);
        d.Grow.Should().Equal(new GrowAction(null, 29));
    }

    [Fact]
    public void Decide_WaitingAdds_GrowsForAllOfThemOnSeveralEnisAtOnce()
    {
        // The burst emptied the warm pool: 47 ADDs wait, ~1 ADD/s was seen (10 expected within the 10 s lead time).
        var snapshot = Snapshot(58, 47, 1.0, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 29));

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Grow.Should().OnlyContain(g => g.IsNewEni);
        d.Grow.Should().HaveCount(2, "47 waiting + 10 expected = 57 addresses need two new ENIs, created together");
        d.Grow.Should().OnlyContain(g => g.Units == 29, "a new ENI for demand takes all its addresses");
    }

    [Fact]
    public void Decide_AfterWarmUpQuiet_KeepsOnlyTheMinimumIdleInsteadOfAWholeEni()
    {
        // 105 pods, 11 idle, no recent ADDs: upstream would add a fifth ENI (11 < 29); the burst policy keeps what it has.
        var snapshot = Snapshot(105, 0, 0, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 29), Eni("eni-2", 2, 29, 29), Eni("eni-3", 3, 29, 18));

        UpstreamPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions()).Grow.Should().NotBeEmpty();
        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Grow.Should().BeEmpty();
    }

    [Fact]
    public void Decide_ReadyWithinTwiceTheTarget_ReleasesNothing()
    {
        // Hysteresis: target 2 (the minimum idle), 4 ready: nothing goes back.
        var snapshot = Snapshot(105, 0, 0, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 25));

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void Decide_ReadyAboveTwiceTheTarget_ReleasesHalfTheExcess()
    {
        // Target 2, 12 ready: half of the 10 above the target go back now, the rest after the decrease throttle.
        var snapshot = Snapshot(105, 0, 0, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 17));

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Grow.Should().BeEmpty();
        d.Release.Sum(r => r.Cidrs.Count).Should().Be(5);
    }

    [Fact]
    public void Decide_RecentAddRate_HoldsTheAddressesAfterABurst()
    {
        // Right after a burst the rate (1.7 ADD/s over the window) keeps the target at 17: 20 ready addresses stay.
        var snapshot = Snapshot(105, 0, 1.7, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 9));

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Release.Should().BeEmpty();
        d.Grow.Should().BeEmpty();
    }

    [Fact]
    public void Decide_BurstStartBeforeTheWindowRateCatchesUp_GrowsInsteadOfReleasing()
    {
        // 29 of a burst's pods have just taken addresses (the warm-up ends here): the 60 s window's rate says 34/60 ADD/s
        // (6 expected in the lead time), but 29 came within the last lead time; 24 ready must not be cut back.
        var snapshot = Snapshot(34, 0, 34 / 60.0, Eni("eni-0", 0, 29, 29), Eni("eni-1", 1, 29, 5)) with { AddsInLeadTime = 29 };

        var d = BurstPoolPolicy.Instance.Decide(snapshot, M54xlarge, new IpamOptions());

        d.Release.Should().BeEmpty();
        d.Grow.Should().Equal([new GrowAction(null, 29)], "the target is the last lead time's 29 ADDs (the static idle ceiling), 24 are ready: a whole new ENI");
    }
}
