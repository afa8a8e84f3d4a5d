using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class PoolControllerTests : IDisposable
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ipam-ctl-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public PoolControllerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private PoolController Controller(IEniProvider cloud, IpamOptions? options = null, DurableAllocationStore? store = null, IPodLivenessEvidence? liveness = null) =>
        new(cloud, options ?? new IpamOptions(), _time, store, liveness, null, 0, inlineSignals: true);

    [Fact]
    public async Task Initialize_FreshNode_FillsPrimaryEniForWarmEniTarget()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.GetStats().TotalIPs.Should().Be(9);
        c.Limits.MaxPods.Should().Be(29);
    }

    [Fact]
    public async Task Assign_LeavesPoolLow_EventDrivenLoopAddsEniWithoutWaitingForTimer()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);
        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        c.Datastore.EniCount.Should().Be(2, "the ADD woke the loop, which created an ENI at once (no time passed)");
        c.Datastore.GetStats().TotalIPs.Should().Be(18);
        await cts.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task Assign_EmptyPoolWithGrowInFlight_WaitsForTheGrow()
    {
        var cloud = new LatencyEniProvider(new InMemoryPlanningCloud(M5Large), _time, CloudLatencies.Zero with { Assign = TimeSpan.FromSeconds(1) });
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1 });
        var init = c.InitializeAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        await init;
        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        c.Datastore.GetStats().ReadyIPs.Should().Be(0);

        var pending = c.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None).AsTask();
        pending.IsCompleted.Should().BeFalse();
        c.WaitingAssignments.Should().Be(1);
        _time.Advance(TimeSpan.FromSeconds(1));
        var result = await pending;
        result.Succeeded.Should().BeTrue();
        result.Reused.Should().BeFalse();
        result.Detail.Should().Contain("waited for the pool to grow", "the host turns a long wait into an event naming why");
        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Detail.Should().BeNull("an ADD served at once did not wait");
    }

    [Fact]
    public async Task CanWait_StartIdleAndWaitingAdd_UrgentUntilTheNodeHasAddressesAndAgainWhileAnAddWaitsForNone()
    {
        var cloud = new LatencyEniProvider(new InMemoryPlanningCloud(M5Large), _time, CloudLatencies.Zero with { Assign = TimeSpan.FromSeconds(1) });
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1 });
        c.CanWait.Should().BeFalse("before the start the node waits for its first addresses");
        var init = c.InitializeAsync(CancellationToken.None);
        c.CanWait.Should().BeFalse("the node has no address yet");
        _time.Advance(TimeSpan.FromSeconds(1));
        await init;
        c.CanWait.Should().BeTrue("an address is ready: growth is for the warm pool");

        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        var pending = c.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None).AsTask();
        c.CanWait.Should().BeFalse("an ADD waits and no address is ready");
        _time.Advance(TimeSpan.FromSeconds(1));
        (await pending).Succeeded.Should().BeTrue();
        c.CanWait.Should().BeTrue("nobody waits any more");
        ((ICloudRequestPriority)c).CanWait.Should().BeTrue();
    }

    [Fact]
    public async Task Assign_WaitRunsOut_FailsAsStillGrowing()
    {
        var cloud = new LatencyEniProvider(new InMemoryPlanningCloud(M5Large), _time, CloudLatencies.Zero with { Assign = TimeSpan.FromSeconds(10) });
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1, AssignWaitTimeout = TimeSpan.FromSeconds(2) });
        var init = c.InitializeAsync(CancellationToken.None);
        Step(TimeSpan.FromSeconds(10));
        await init;
        await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        var pending = c.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(2));
        var result = await pending;
        result.Failure.Should().Be(AssignFailureReason.StillGrowing);
        result.Detail.Should().Contain("still growing");
    }

    [Fact]
    public async Task Assign_AllEnisFull_FailsAtOnceWithNoRoom()
    {
        using var c = Controller(new InMemoryPlanningCloud(M5Large), new IpamOptions { MaxPods = 110 });
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 27; i++)
        {
            (await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
            await c.RunPoolRoundAsync(CancellationToken.None);
        }

        var result = await c.AssignAsync(Key(99), PodMetadata.None, CancellationToken.None);
        result.Failure.Should().Be(AssignFailureReason.NoRoom);
    }

    [Fact]
    public async Task Assign_PoolAtMaxPods_FailsWithMaxPodsReached()
    {
        using var c = Controller(new InMemoryPlanningCloud(M5Large), new IpamOptions { MaxPods = 9 });
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 9; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        (await c.AssignAsync(Key(99), PodMetadata.None, CancellationToken.None)).Failure.Should().Be(AssignFailureReason.MaxPodsReached);
    }

    [Theory]
    [InlineData(CloudErrorKind.SubnetFull, AssignFailureReason.SubnetFull)]
    [InlineData(CloudErrorKind.NoFreePrefix, AssignFailureReason.NoFreePrefix)]
    [InlineData(CloudErrorKind.Throttled, AssignFailureReason.Throttled)]
    [InlineData(CloudErrorKind.Unauthorized, AssignFailureReason.CloudError)]
    public async Task Assign_GrowFails_ReportsCloudReason(CloudErrorKind kind, AssignFailureReason expected)
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1 });
        await c.InitializeAsync(CancellationToken.None);
        await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        cloud.FaultInjector = op => op is "Assign" or "CreateAndAttachEni" ? new CloudException(kind, "injected") : null;
        (await c.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None)).Failure.Should().Be(expected);
    }

    [Fact]
    public async Task InvalidConfiguration_GrowthFails_AddFailsAtOnceAndGrowthBacksOff()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1 });
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 9; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        cloud.FaultInjector = op => op == "CreateAndAttachEni"
            ? new CloudException(CloudErrorKind.InvalidConfiguration, "subnet subnet-404 requested for a new ENI does not exist")
            : null;
        var result = await c.AssignAsync(Key(50), PodMetadata.None, CancellationToken.None);
        await c.RunPoolRoundAsync(CancellationToken.None);

        result.Failure.Should().Be(AssignFailureReason.CloudError);
        result.Detail.Should().Contain("InvalidConfiguration");
        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff, "a wrong configuration is not retried every pool interval");
        cloud.FaultInjector = null;
        _time.Advance(TimeSpan.FromSeconds(121));
        c.Decide().Blocked.Should().NotBe(GrowthBlock.CapacityBackoff);
        await c.RunPoolRoundAsync(CancellationToken.None);
        (await c.AssignAsync(Key(51), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
    }

    [Fact]
    public async Task NotePlacementChanged_AfterAConfigurationFailure_EndsTheBackoffAtOnce()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new IpamOptions { WarmIpTarget = 1, MinimumIpTarget = 1 });
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 9; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        cloud.FaultInjector = op => op == "CreateAndAttachEni" ? new CloudException(CloudErrorKind.InvalidConfiguration, "ENIConfig \"a\" is not available") : null;
        await c.AssignAsync(Key(50), PodMetadata.None, CancellationToken.None);
        await c.RunPoolRoundAsync(CancellationToken.None);
        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff);
        cloud.FaultInjector = null;

        c.NotePlacementChanged();

        c.Decide().Blocked.Should().NotBe(GrowthBlock.CapacityBackoff, "the new placement is tried without waiting 120 s");
        await c.RunPoolRoundAsync(CancellationToken.None);
        (await c.AssignAsync(Key(51), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
    }

    [Fact]
    public async Task SubnetFull_StartsCapacityBackoff()
    {
        var cloud = new InMemoryPlanningCloud(M5Large, subnetFreeAddresses: 12);
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 9; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        await c.RunPoolRoundAsync(CancellationToken.None);
        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff);
        (await c.AssignAsync(Key(50), PodMetadata.None, CancellationToken.None)).Failure.Should().Be(AssignFailureReason.SubnetFull);
        _time.Advance(TimeSpan.FromSeconds(121));
        c.Decide().Blocked.Should().NotBe(GrowthBlock.CapacityBackoff);
    }

    [Fact]
    public async Task Unassign_UnknownKey_ReportsNotKnown()
    {
        using var c = Controller(new InMemoryPlanningCloud(M5Large));
        await c.InitializeAsync(CancellationToken.None);
        (await c.UnassignAsync(Key(5), CancellationToken.None)).Known.Should().BeFalse();
    }

    [Fact]
    public async Task Reconcile_EniDetachedBehindOurBack_RemovedAndItsPodsKeptUnplaced()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new IpamOptions { MaxPods = 110 });
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
            await c.RunPoolRoundAsync(CancellationToken.None);
        }

        var second = c.Datastore.GetEniStates().Single(e => e.DeviceNumber == 1).Id;
        cloud.DetachOutOfBand(second);
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None); // an ENI goes only when two views in a row miss it
        c.Datastore.ContainsEni(second).Should().BeFalse();
        c.Datastore.GetUnplacedAllocations().Should().ContainSingle().Which.Key.Should().Be(Key(9));
    }

    [Fact]
    public async Task Reconcile_AddressRemovedByCloud_IsNeverHandedOut()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        var primary = c.Datastore.GetEniStates()[0];
        var dropped = primary.FreeableCidrs[0];
        cloud.RemoveCidrOutOfBand(primary.Id, dropped);
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        var handedOut = new List<PodAddress>();
        for (var i = 0; i < 20; i++)
        {
            var r = await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
            if (r.Succeeded)
            {
                handedOut.Add(r.Address);
            }
        }

        handedOut.Should().NotContain(PodAddress.From(dropped.BaseAddress));
    }

    [Fact]
    public async Task Restore_CheckpointAddressCloudNoLongerLists_NeverHandedOutAndPodKept_Upstream3887()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var path = Path.Combine(_dir, "ipam.json");
        IPNetwork stale;
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, store: store))
        {
            await first.InitializeAsync(CancellationToken.None);
            var r = await first.AssignAsync(Key(1), new PodMetadata("default", "web"), CancellationToken.None);
            stale = new IPNetwork(r.Address.ToIPAddress(), 32);
            await first.CompactRecordAsync(CancellationToken.None);
        }

        // While ipamd was down, EC2 took the address away (IMDS may still show it; our port reports EC2's view).
        cloud.RemoveCidrOutOfBand("eni-primary", stale);
        using var store2 = new DurableAllocationStore(path);
        using var second = Controller(cloud, store: store2);
        await second.InitializeAsync(CancellationToken.None);
        second.Datastore.GetUnplacedAllocations().Should().ContainSingle().Which.Key.Should().Be(Key(1));
        for (var i = 10; i < 40; i++)
        {
            var r = await second.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
            if (r.Succeeded)
            {
                r.Address.Should().NotBe(PodAddress.From(stale.BaseAddress));
            }
        }

        store2.GetDurableAllocations().Should().Contain(a => a.Key == Key(1), "the live pod's allocation is not dropped");
    }

    [Fact]
    public async Task Restore_PrefixMissingFromIncompleteView_KeepsLivePodsAndReattaches_Upstream3876()
    {
        var limits = M5Large;
        var cloud = new InMemoryPlanningCloud(limits);
        var path = Path.Combine(_dir, "ipam.json");
        var options = new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 };
        IPNetwork prefix;
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, options, store))
        {
            await first.InitializeAsync(CancellationToken.None);
            for (var i = 0; i < 3; i++)
            {
                await first.AssignAsync(Key(i), new PodMetadata("default", $"p{i}"), CancellationToken.None);
            }

            prefix = first.Datastore.GetEniStates()[0].FreeableCidrs.Count == 0
                ? (await cloud.DescribeInstanceEnisAsync(CancellationToken.None))[0].IPv4Prefixes[0]
                : throw new InvalidOperationException("expected the first prefix to be in use");
        }

        cloud.RemoveCidrOutOfBand("eni-primary", prefix); // the view at restart is incomplete
        using var store2 = new DurableAllocationStore(path);
        using var second = Controller(cloud, options, store2);
        await second.InitializeAsync(CancellationToken.None);
        second.Datastore.GetUnplacedAllocations().Should().HaveCount(3);
        File.ReadAllText(path).Should().Contain("\"c0\"").And.Contain("\"c2\"", "the checkpoint still records the live pods");

        cloud.AddCidrOutOfBand("eni-primary", prefix); // the complete view arrives
        await second.ReconcileWithCloudAsync(CancellationToken.None);
        second.Datastore.GetUnplacedAllocations().Should().BeEmpty();
        second.Datastore.GetStats().AssignedIPs.Should().Be(3);
        var again = await second.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        again.Reused.Should().BeTrue();
    }

    [Fact]
    public async Task Restart_WithinCooldown_ReleasedAddressStaysCooling()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var path = Path.Combine(_dir, "ipam.json");
        PodAddress released;
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, store: store))
        {
            await first.InitializeAsync(CancellationToken.None);
            released = (await first.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Address;
            await first.UnassignAsync(Key(1), CancellationToken.None);
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        using (var store2 = new DurableAllocationStore(path))
        using (var second = Controller(cloud, store: store2))
        {
            await second.InitializeAsync(CancellationToken.None);
            second.Datastore.GetStats().CoolingIPs.Should().Be(1);
            (await second.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None)).Address.Should().NotBe(released);
            _time.Advance(TimeSpan.FromSeconds(20));
            second.Datastore.GetStats().CoolingIPs.Should().Be(0);
            (await second.AssignAsync(Key(3), PodMetadata.None, CancellationToken.None)).Address.Should().Be(released);
        }
    }

    [Fact]
    public async Task Restore_PodPositivelyGone_IsDropped()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var path = Path.Combine(_dir, "ipam.json");
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, store: store))
        {
            await first.InitializeAsync(CancellationToken.None);
            await first.AssignAsync(Key(1), new PodMetadata("default", "gone"), CancellationToken.None);
            await first.AssignAsync(Key(2), new PodMetadata("default", "alive"), CancellationToken.None);
        }

        using var store2 = new DurableAllocationStore(path);
        using var second = Controller(cloud, store: store2, liveness: new GoneByName("gone"));
        await second.InitializeAsync(CancellationToken.None);
        second.Datastore.GetAllocations().Select(a => a.Key).Should().Equal(Key(2));
    }

    [Fact]
    public async Task Assign_RecordCannotBeWritten_FailsAndRollsBack()
    {
        var store = new DurableAllocationStore(Path.Combine(_dir, "ipam.json"));
        using var c = Controller(new InMemoryPlanningCloud(M5Large), store: store);
        await c.InitializeAsync(CancellationToken.None);
        store.Dispose();
        var result = await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        result.Failure.Should().Be(AssignFailureReason.RecordFailed);
        c.Datastore.GetStats().AssignedIPs.Should().Be(0);
    }

    [Fact]
    public async Task UnmanagedEni_IsLeftAloneAndUsesAnEniSlot()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        cloud.AttachOutOfBand([new IPNetwork(IPAddress.Parse("10.0.200.1"), 32)], new Dictionary<string, string> { ["node.k8s.amazonaws.com/no_manage"] = "true" });
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        c.Limits.UnmanagedEnis.Should().Be(1);
        c.Datastore.EniCount.Should().Be(1);
    }

    [Fact]
    public async Task ModeSwitch_UnusedSecondaryAddressesReleasedInPrefixMode()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using (var sip = Controller(cloud))
        {
            await sip.InitializeAsync(CancellationToken.None);
        }

        using var pd = Controller(cloud, new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 });
        await pd.InitializeAsync(CancellationToken.None);
        var enis = await cloud.DescribeInstanceEnisAsync(CancellationToken.None);
        enis[0].SecondaryIPv4.Should().BeEmpty();
        enis[0].IPv4Prefixes.Should().ContainSingle();
    }

    [Fact]
    public async Task Burst_WithLatencies_AtMostOneMutatingCallPerEni()
    {
        var cloud = new LatencyEniProvider(new InMemoryPlanningCloud(new InstanceLimits("m5.4xlarge", 8, 30)), _time, new CloudLatencies());
        using var c = Controller(cloud, new IpamOptions { PoolPolicy = PoolPolicyKind.DemandAware, MaxPods = 234, AssignWaitTimeout = TimeSpan.FromSeconds(60) });
        var init = c.InitializeAsync(CancellationToken.None);
        Step(TimeSpan.FromSeconds(10));
        await init;
        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);
        var adds = Enumerable.Range(0, 100).Select(i => c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None).AsTask()).ToList();
        for (var s = 0; s < 600 && adds.Any(t => !t.IsCompleted); s++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        var results = await Task.WhenAll(adds);
        results.Count(r => r.Succeeded).Should().BeGreaterThan(90);
        results.Where(r => r.Succeeded).Select(r => r.Address).Should().OnlyHaveUniqueItems();
        cloud.PeakConcurrentCallsPerEni.Should().Be(1);
        await cts.CancelAsync();
        Step(TimeSpan.FromSeconds(10));
        await loop;
    }

    // A fake clock jumps straight to the target time; step it so delays started by earlier callbacks also fire.
    private void Step(TimeSpan total)
    {
        for (var t = TimeSpan.Zero; t < total; t += TimeSpan.FromMilliseconds(100))
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    private sealed class GoneByName(string name) : IPodLivenessEvidence
    {
        public bool IsPodGone(AllocationRecord allocation) => allocation.Metadata.Name == name;
    }
}
