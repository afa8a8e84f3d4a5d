using System.Net;

namespace VpcCni.Ipam.Tests.Policies;

public sealed class UpstreamPoolPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly PoolLimits M5Large = new(3, 10, 29);

    private static EniState Eni(string id, int device, int cidrs, int assigned, int cooling = 0, bool trunk = false, bool efa = false, DateTimeOffset? added = null, bool excluded = false) =>
        new(id, device, device == 0, trunk, efa, excluded, added ?? Now.AddHours(-1), cidrs, cidrs, cidrs, assigned, cooling,
            [.. Enumerable.Range(0, Math.Max(0, cidrs - assigned - cooling)).Select(i => new IPNetwork(new PodAddress((uint)(0x0A000000 + device * 256 + i)).ToIPAddress(), 32))],
            cidrs - assigned, []);

    private static PoolSnapshot Snapshot(params EniState[] enis)
    {
        var total = enis.Where(e => !e.IsExcluded).Sum(e => e.Addresses);
        var assigned = enis.Where(e => !e.IsExcluded).Sum(e => e.Assigned);
        var cooling = enis.Where(e => !e.IsExcluded).Sum(e => e.Cooling);
        return new PoolSnapshot(new PoolStats(total, assigned, cooling, 0, 0, 0), enis, Now);
    }

    [Fact]
    public void Decide_WarmEniTargetAndFullPrimary_CreatesNewEniWithAllAddresses()
    {
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 5)), M5Large, new IpamOptions());
        d.TooLow.Should().BeTrue();
        d.Grow.Should().Equal(new GrowAction(null, 9));
    }

    [Fact]
    public void Decide_TotalAtMaxPods_DoesNotGrow()
    {
        var limits = M5Large with { MaxPods = 18 };
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 9, 9)), limits, new IpamOptions());
        d.Grow.Should().BeEmpty();
        d.Blocked.Should().Be(GrowthBlock.MaxPods);
    }

    [Theory]
    // MINIMUM_IP_TARGET 200 asks for ceil(200 / 16) = 13 prefixes; max pods 40 makes it 3 (48 addresses).
    [InlineData(0, 1, 200, 40, 3)]
    [InlineData(0, 1, 200, 737, 13)]
    // WARM_PREFIX_TARGET 5 from an empty pool: 5 prefixes, or 2 when max pods is 20.
    [InlineData(5, 0, 0, 20, 2)]
    [InlineData(5, 0, 0, 737, 5)]
    public void Decide_PrefixDelegationGrowth_StopsWithinOnePrefixOfMaxPods(int warmPrefix, int warmIp, int minIp, int maxPods, int prefixes)
    {
        var harness = new Support.PolicyHarness(
            new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefix, WarmIpTarget = warmIp, MinimumIpTarget = minIp },
            Support.PolicyHarness.P3dn with { MaxPods = maxPods }).WithPods(0);

        harness.Datastore.GetStats().TotalPrefixes.Should().Be(prefixes);
    }

    [Fact]
    public void Decide_NoEniSlotLeft_ReportsNoRoom()
    {
        var limits = M5Large with { UnmanagedEnis = 1 };
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 9, 9)), limits, new IpamOptions());
        d.Grow.Should().BeEmpty();
        d.Blocked.Should().Be(GrowthBlock.NoRoom);
    }

    [Fact]
    public void Decide_TrunkReserveTakesLastSlot_ReportsNoRoom()
    {
        var limits = M5Large with { ReserveTrunkSlot = true };
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 9, 9)), limits, new IpamOptions());
        d.Blocked.Should().Be(GrowthBlock.NoRoom);
    }

    [Fact]
    public void Decide_WithinInsufficientCapacityBackoff_DoesNotGrow()
    {
        var s = Snapshot(Eni("eni-0", 0, 9, 9)) with { LastInsufficientCapacity = Now.AddSeconds(-119) };
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, new IpamOptions()).Blocked.Should().Be(GrowthBlock.CapacityBackoff);
        var later = s with { LastInsufficientCapacity = Now.AddSeconds(-121) };
        UpstreamPoolPolicy.Instance.Decide(later, M5Large, new IpamOptions()).Grow.Should().NotBeEmpty();
    }

    [Fact]
    public void Decide_WarmIpTargetOverTarget_ReleasesOnlyAfterThrottle()
    {
        var options = new IpamOptions { WarmIpTarget = 2 };
        var s = Snapshot(Eni("eni-0", 0, 9, 2)) with { LastDecrease = Now.AddSeconds(-30) };
        var d = UpstreamPoolPolicy.Instance.Decide(s, M5Large, options);
        d.TooHigh.Should().BeTrue();
        d.Release.Should().BeEmpty("the last release was 30 s ago (throttle is > 30 s)");
        var d2 = UpstreamPoolPolicy.Instance.Decide(s with { LastDecrease = Now.AddSeconds(-31) }, M5Large, options);
        d2.Release.Should().ContainSingle().Which.Cidrs.Should().HaveCount(5);
    }

    [Fact]
    public void Decide_CoolingAddresses_AreNotAvailableNorReleasedByDefault()
    {
        // 9 addresses, 7 assigned, 2 cooling: upstream would see 2 available and do nothing with WARM_IP_TARGET=2.
        var options = new IpamOptions { WarmIpTarget = 2 };
        var s = Snapshot(Eni("eni-0", 0, 9, 7, cooling: 2), Eni("eni-1", 1, 0, 0));
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, options).Grow.Should().Equal(new GrowAction("eni-1", 2));
        var upstreamLike = new IpamOptions { WarmIpTarget = 2, CountCoolingAsAvailable = true };
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, upstreamLike).Grow.Should().BeEmpty();
    }

    [Fact]
    public void Decide_WarmEniTargetInSecondaryIpMode_NeverReleasesSingleAddresses()
    {
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 0)), M5Large, new IpamOptions());
        d.TooHigh.Should().BeFalse();
        d.Release.Should().BeEmpty();
    }

    [Fact]
    public void Decide_SurplusEmptyEni_DeletedOnlyAfterMinimumAge()
    {
        var young = Snapshot(Eni("eni-0", 0, 9, 0), Eni("eni-1", 1, 9, 0), Eni("eni-2", 2, 9, 0, added: Now.AddSeconds(-59)));
        UpstreamPoolPolicy.Instance.Decide(young, M5Large, new IpamOptions()).DeleteEniId.Should().Be("eni-1");
        var allYoung = Snapshot(Eni("eni-0", 0, 9, 0), Eni("eni-1", 1, 9, 0, added: Now.AddSeconds(-10)), Eni("eni-2", 2, 9, 0, added: Now.AddSeconds(-59)));
        UpstreamPoolPolicy.Instance.Decide(allYoung, M5Large, new IpamOptions()).DeleteEniId.Should().BeNull();
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Decide_TrunkOrEfaEni_IsNeverDeleted(bool trunk, bool efa)
    {
        var s = Snapshot(Eni("eni-0", 0, 9, 0), Eni("eni-1", 1, 9, 0), Eni("eni-2", 2, 9, 0, trunk: trunk, efa: efa));
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, new IpamOptions()).DeleteEniId.Should().Be("eni-1");
    }

    [Fact]
    public void Decide_EniWithCoolingAddress_IsNotDeletable()
    {
        var s = Snapshot(Eni("eni-0", 0, 9, 0), Eni("eni-1", 1, 9, 0, cooling: 1), Eni("eni-2", 2, 9, 0, cooling: 1));
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, new IpamOptions { CountCoolingAsAvailable = true }).DeleteEniId.Should().BeNull();
    }

    [Fact]
    public void Decide_WarmIpTargetNeedsOthersFree_KeepsEniThatHoldsTheWarmAddresses()
    {
        var options = new IpamOptions { WarmIpTarget = 3 };
        var s = Snapshot(Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 3, 0));
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, options).DeleteEniId.Should().BeNull();
    }

    [Fact]
    public void Decide_SecondaryCard_ForcesWarmAndMinimumOfOne()
    {
        var limits = M5Large with { IsSecondaryCard = true };
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-9", 1, 0, 0)), limits, new IpamOptions { WarmEniTarget = 3 });
        d.Grow.Should().Equal(new GrowAction("eni-9", 1));
    }

    [Fact]
    public void Decide_ExcludedEni_GetsNoNewAddresses()
    {
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 9, 9), Eni("eni-1", 1, 2, 0, excluded: true)), M5Large, new IpamOptions());
        d.Grow.Should().Equal(new GrowAction(null, 9));
    }

    [Fact]
    public void Decide_CustomNetworking_SkipsPrimaryEni()
    {
        var limits = M5Large with { SkipPrimaryEni = true };
        var d = UpstreamPoolPolicy.Instance.Decide(Snapshot(Eni("eni-0", 0, 0, 0)), limits, new IpamOptions());
        d.Grow.Should().Equal(new GrowAction(null, 9));
    }

    [Fact]
    public void Decide_SameInputs_SameDecision()
    {
        var s = Snapshot(Eni("eni-0", 0, 9, 3), Eni("eni-1", 1, 4, 0));
        var options = new IpamOptions { WarmIpTarget = 1 };
        UpstreamPoolPolicy.Instance.Decide(s, M5Large, options).Should().BeEquivalentTo(UpstreamPoolPolicy.Instance.Decide(s, M5Large, options));
    }
}
