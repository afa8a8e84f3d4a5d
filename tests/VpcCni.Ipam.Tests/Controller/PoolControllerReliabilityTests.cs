using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>Issue #11: wrong cloud views, cooling stalls, route tables on other cards, unmanaged/excluded ENIs, restore clean-up.</summary>
public sealed class PoolControllerReliabilityTests : IDisposable
{
    private const string InstanceIdTag = "node.k8s.amazonaws.com/instance_id";
    private const string NoManageTag = "node.k8s.amazonaws.com/no_manage";
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ipam-rel-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public PoolControllerReliabilityTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private PoolController Controller(IEniProvider cloud, IpamOptions? options = null, DurableAllocationStore? store = null, IPodLivenessEvidence? liveness = null, int card = 0, IEniLifecycleHook? hook = null) =>
        new(cloud, options ?? new IpamOptions(), _time, store, liveness, null, card, inlineSignals: true, hook);

    private static Task<PoolController> FillTwoEnisAsync(PoolController c) => FillAsync(c, 12);

    private static async Task<PoolController> FillAsync(PoolController c, int pods)
    {
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < pods; i++)
        {
            (await c.AssignAsync(Key(i), new PodMetadata("default", $"p{i}"), CancellationToken.None)).Succeeded.Should().BeTrue();
            await c.RunPoolRoundAsync(CancellationToken.None);
        }

        return c;
    }

    // ---- 1. Empty or wrong cloud view ----

    [Fact]
    public async Task Reconcile_CloudListsNoEnis_AbortsAndKeepsEveryEniAndAllocation()
    {
        var cloud = new ViewOverride(new InMemoryPlanningCloud(M5Large));
        using var c = await FillTwoEnisAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }));
        var enis = c.Datastore.GetEniIds();

        cloud.View = _ => [];
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None);

        c.Datastore.GetEniIds().Should().BeEquivalentTo(enis);
        c.Datastore.GetUnplacedAllocations().Should().BeEmpty();
        c.Datastore.GetStats().AssignedIPs.Should().Be(12);
    }

    [Fact]
    public async Task Reconcile_ViewLacksPrimaryEni_AbortsAndNeverRemovesThePrimary()
    {
        var cloud = new ViewOverride(new InMemoryPlanningCloud(M5Large));
        using var c = await FillTwoEnisAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }));

        cloud.View = enis => [.. enis.Where(e => !e.IsPrimary)];
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None);

        c.Datastore.ContainsEni("eni-primary").Should().BeTrue();
        c.Datastore.GetUnplacedAllocations().Should().BeEmpty();
    }

    [Fact]
    public async Task Initialize_CloudListsNoEnis_FailsInsteadOfGrowingFromNothing()
    {
        var inner = new InMemoryPlanningCloud(M5Large);
        var cloud = new ViewOverride(inner) { View = _ => [] };
        using var c = Controller(cloud);
        var act = () => c.InitializeAsync(CancellationToken.None);
        await act.Should().ThrowAsync<CloudException>().WithMessage("*primary ENI*");
        inner.Calls.Should().NotContainKey("CreateAndAttachEni");
    }

    [Fact]
    public async Task Reconcile_EniMissingFromOneViewOnly_KeepsItsPodsButHandsOutNothingFromIt()
    {
        var cloud = new ViewOverride(new InMemoryPlanningCloud(M5Large));
        using var c = await FillTwoEnisAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }));
        var second = c.Datastore.GetEniStates().Single(e => e.DeviceNumber == 1);
        second.Assigned.Should().Be(3);

        cloud.View = enis => [.. enis.Where(e => e.Id != second.Id)];
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        c.Datastore.ContainsEni(second.Id).Should().BeTrue("one view without it is not enough to drop its pods");
        c.Datastore.GetUnplacedAllocations().Should().BeEmpty();
        var during = await c.AssignAsync(Key(50), PodMetadata.None, CancellationToken.None);
        if (during.Succeeded)
        {
            during.DeviceNumber.Should().NotBe(1, "no new pod gets an address of an ENI the cloud did not list");
        }

        cloud.View = null;
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        c.Datastore.GetEniStates().Single(e => e.Id == second.Id).IsExcluded.Should().BeFalse();
        c.Datastore.GetUnplacedAllocations().Should().BeEmpty();
        c.Datastore.GetAllocations().Should().HaveCount(during.Succeeded ? 13 : 12);
    }

    [Fact]
    public async Task Reconcile_EniMissingFromTwoViewsInARow_IsRemovedAndItsPodsKeptUnplaced()
    {
        var cloud = new ViewOverride(new InMemoryPlanningCloud(M5Large));
        using var c = await FillTwoEnisAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }));
        var second = c.Datastore.GetEniStates().Single(e => e.DeviceNumber == 1).Id;
        cloud.View = enis => [.. enis.Where(e => e.Id != second)];
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        c.Datastore.ContainsEni(second).Should().BeFalse();
        c.Datastore.GetUnplacedAllocations().Should().HaveCount(3);
    }

    // ---- 2. MINIMUM_IP_TARGET alone and a cooling pool ----

    [Fact]
    public async Task Assign_OnlyMinimumIpTargetAndEveryFreeAddressCooling_PoolGrowsInsteadOfWaiting()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var options = new IpamOptions { WarmEniTarget = 0, WarmIpTarget = 0, MinimumIpTarget = 3 };
        using var c = Controller(cloud, options);
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.GetStats().TotalIPs.Should().Be(3);
        for (var i = 0; i < 3; i++)
        {
            (await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        }

        var released = (await c.UnassignAsync(Key(0), CancellationToken.None)).Address;
        c.Datastore.GetStats().ReadyIPs.Should().Be(0, "the only free address is cooling down");

        var result = await c.AssignAsync(Key(10), PodMetadata.None, CancellationToken.None);
        result.Succeeded.Should().BeTrue("the ADD made the pool grow instead of waiting out IP_COOLDOWN_PERIOD");
        result.Address.Should().NotBe(released);
    }

    [Fact]
    public async Task Assign_OnlyMinimumIpTargetAndPoolAllAssigned_PoolGrowsWithTheLoopRunning()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new IpamOptions { WarmEniTarget = 0, MinimumIpTarget = 2 });
        await c.InitializeAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);
        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        (await c.AssignAsync(Key(2), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        var third = c.AssignAsync(Key(3), PodMetadata.None, CancellationToken.None).AsTask();
        third.IsCompleted.Should().BeTrue("the waiting ADD made the loop grow the pool at once");
        for (var i = 0; i < 40 && !third.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100)); // lets the wait run out when nothing grows
        }

        (await third).Succeeded.Should().BeTrue();
        await cts.CancelAsync();
        await loop;
    }

    // ---- 3. Route tables on other network cards ----

    [Fact]
    public async Task Initialize_SecondNetworkCard_UsesUpstreamRouteTableNumbers()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var hook = new RecordingHook();
        using var c = Controller(cloud, card: 1, hook: hook);
        await c.InitializeAsync(CancellationToken.None);
        var eni = c.Datastore.GetEniStates().Should().ContainSingle().Subject;
        eni.DeviceNumber.Should().Be(0);
        hook.Added.Should().ContainSingle().Which.Table.Should().Be(10100, "card 1, device 0 → 10000 + 100 × 1 + 0");

        var result = await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        result.RouteTableId.Should().Be(10100);
    }

    [Fact]
    public async Task Initialize_SecondaryEniOnCardZero_KeepsDevicePlusOne()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var hook = new RecordingHook();
        using var c = await FillAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }, hook: hook), 12);
        hook.Added.Where(a => a.Eni.DeviceIndex == 1).Should().ContainSingle().Which.Table.Should().Be(2);
        (await c.AssignAsync(Key(0), PodMetadata.None, CancellationToken.None)).RouteTableId.Should().Be(EniRouteTable.Main);
    }

    // ---- 4. Unmanaged and excluded ENIs, tags ----

    [Theory]
    [InlineData(NoManageTag, "true", true, false)]
    [InlineData(NoManageTag, "false", true, true)]
    [InlineData(NoManageTag, "True", false, true)] // only exactly "true" means unmanaged
    [InlineData(NoManageTag, "false", false, true)] // a no_manage tag decides before MANAGE_UNTAGGED_ENI
    [InlineData(InstanceIdTag, "i-0123456789abcdef0", false, true)]
    [InlineData(InstanceIdTag, "i-someoneelse", false, false)]
    [InlineData(InstanceIdTag, "i-someoneelse", true, true)]
    [InlineData(null, null, false, false)]
    [InlineData(null, null, true, true)]
    public async Task Initialize_ManagedFilter_FollowsUpstreamTagRules(string? tag, string? value, bool manageUntagged, bool managed)
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var tags = tag is null ? null : new Dictionary<string, string> { [tag] = value! };
        var id = cloud.AttachOutOfBand([new IPNetwork(IPAddress.Parse("10.0.200.1"), 32)], tags);
        using var c = Controller(cloud, new IpamOptions { ManageUntaggedEni = manageUntagged });
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.ContainsEni(id).Should().Be(managed);
        c.Limits.UnmanagedEnis.Should().Be(managed ? 0 : 1);
        c.Datastore.ContainsEni("eni-primary").Should().BeTrue("the primary ENI is always managed");
    }

    [Fact]
    public async Task Reconcile_ViewWithoutAnyTags_KeepsEarlierManagedDecisions()
    {
        var inner = new InMemoryPlanningCloud(M5Large);
        var cloud = new ViewOverride(inner);
        var id = inner.AttachOutOfBand([new IPNetwork(IPAddress.Parse("10.0.200.1"), 32)], new Dictionary<string, string> { [InstanceIdTag] = inner.Identity.InstanceId });
        using var c = Controller(cloud, new IpamOptions { ManageUntaggedEni = false });
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.ContainsEni(id).Should().BeTrue();

        cloud.View = enis => [.. enis.Select(e => e with { Tags = new Dictionary<string, string>() })];
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        c.Datastore.ContainsEni(id).Should().BeTrue("a view whose tags failed to load does not turn our ENI into someone else's");
    }

    [Fact]
    public async Task Initialize_EniInExcludedSubnet_HandsOutNoneOfItsAddressesAndReleasesTheFreeOnes()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var excludedCidrs = new[] { "10.0.200.1", "10.0.200.2", "10.0.200.3" }.Select(a => new IPNetwork(IPAddress.Parse(a), 32)).ToList();
        var id = cloud.AttachOutOfBand(excludedCidrs, new Dictionary<string, string> { [InstanceIdTag] = cloud.Identity.InstanceId });
        cloud.SetExcludedOutOfBand(id, true);
        using var c = Controller(cloud, new IpamOptions { MaxPods = 110 });
        await c.InitializeAsync(CancellationToken.None);

        c.Datastore.GetEniStates().Single(e => e.Id == id).IsExcluded.Should().BeTrue();
        var onCloud = (await cloud.DescribeInstanceEnisAsync(CancellationToken.None)).Single(e => e.Id == id);
        onCloud.SecondaryIPv4.Should().BeEmpty("unassigned CIDRs of an excluded ENI go back to EC2 at init (§2.14)");
        for (var i = 0; i < 18; i++) // primary + one new ENI: the excluded ENI holds the third slot
        {
            var r = await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
            r.Succeeded.Should().BeTrue();
            excludedCidrs.Should().NotContain(n => n.BaseAddress.Equals(r.Address.ToIPAddress()));
            await c.RunPoolRoundAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Reconcile_EniBecomesExcluded_StopsHandingOutAndReleasesOnlyFreeCidrs()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = await FillTwoEnisAsync(Controller(cloud, new IpamOptions { MaxPods = 110 }));
        var second = c.Datastore.GetEniStates().Single(e => e.DeviceNumber == 1).Id;
        cloud.SetExcludedOutOfBand(second, true);
        await c.ReconcileWithCloudAsync(CancellationToken.None);

        var state = c.Datastore.GetEniStates().Single(e => e.Id == second);
        state.IsExcluded.Should().BeTrue();
        state.Assigned.Should().Be(3, "pods on it keep their addresses");
        state.Addresses.Should().Be(3, "its free addresses were released");
        (await cloud.DescribeInstanceEnisAsync(CancellationToken.None)).Single(e => e.Id == second).SecondaryIPv4.Should().HaveCount(3);
        c.Datastore.GetUnplacedAllocations().Should().BeEmpty();
    }

    [Fact]
    public async Task Initialize_ManagedEnis_TagsEnsuredOnceEachAndNeverOnTrunk()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        cloud.AttachOutOfBand([new IPNetwork(IPAddress.Parse("10.0.200.1"), 32)]);
        cloud.AttachOutOfBand([], kind: EniKind.Trunk);
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        cloud.Calls.GetValueOrDefault("EnsureEniTags").Should().Be(2, "the primary and the untagged ENI, not the trunk");
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        await c.ReconcileWithCloudAsync(CancellationToken.None);
        cloud.Calls.GetValueOrDefault("EnsureEniTags").Should().Be(2, "once per ENI");
    }

    [Fact]
    public async Task Initialize_TaggingFails_NotFatal()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var id = cloud.AttachOutOfBand([new IPNetwork(IPAddress.Parse("10.0.200.1"), 32)]);
        cloud.FaultInjector = op => op == "EnsureEniTags" ? new CloudException(CloudErrorKind.Unauthorized, "no ec2:CreateTags") : null;
        using var c = Controller(cloud);
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.ContainsEni(id).Should().BeTrue();
    }

    // ---- 5. Restore clean-up ----

    [Fact]
    public async Task Restore_PodPositivelyGone_HostStateOfTheDroppedAllocationIsCleanedUp()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var path = Path.Combine(_dir, "ipam.json");
        PodAddress goneAddress;
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, store: store))
        {
            await first.InitializeAsync(CancellationToken.None);
            goneAddress = (await first.AssignAsync(Key(1), new PodMetadata("default", "gone"), CancellationToken.None)).Address;
            await first.AssignAsync(Key(2), new PodMetadata("default", "alive"), CancellationToken.None);
        }

        var liveness = new GoneByName("gone");
        using var store2 = new DurableAllocationStore(path);
        using var second = Controller(cloud, store: store2, liveness: liveness);
        await second.InitializeAsync(CancellationToken.None);
        liveness.Cleaned.Should().ContainSingle().Which.Address.Should().Be(goneAddress);
    }

    [Fact]
    public async Task Restore_HostCleanupThrows_StartStillSucceeds()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var path = Path.Combine(_dir, "ipam.json");
        using (var store = new DurableAllocationStore(path))
        using (var first = Controller(cloud, store: store))
        {
            await first.InitializeAsync(CancellationToken.None);
            await first.AssignAsync(Key(1), new PodMetadata("default", "gone"), CancellationToken.None);
        }

        using var store2 = new DurableAllocationStore(path);
        using var second = Controller(cloud, store: store2, liveness: new GoneByName("gone") { Throw = true });
        await second.InitializeAsync(CancellationToken.None);
        second.Datastore.GetAllocations().Should().BeEmpty();
    }

    private sealed class GoneByName(string name) : IPodLivenessEvidence
    {
        public List<AllocationRecord> Cleaned { get; } = [];

        public bool Throw { get; init; }

        public bool IsPodGone(AllocationRecord allocation) => allocation.Metadata.Name == name;

        public ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken)
        {
            if (Throw)
            {
                throw new InvalidOperationException("netlink failed");
            }

            Cleaned.Add(allocation);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class RecordingHook : IEniLifecycleHook
    {
        public List<(NetworkInterface Eni, int Table)> Added { get; } = [];

        public ValueTask OnEniAddedAsync(NetworkInterface eni, int routeTableId, CancellationToken cancellationToken)
        {
            Added.Add((eni, routeTableId));
            return ValueTask.CompletedTask;
        }

        public ValueTask OnEniRemovedAsync(NetworkInterface eni, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>Passes every call through, except that <see cref="View"/> (when set) rewrites the list of ENIs.</summary>
    private sealed class ViewOverride(InMemoryPlanningCloud inner) : IEniProvider
    {
        public Func<IReadOnlyList<NetworkInterface>, IReadOnlyList<NetworkInterface>>? View { get; set; }

        public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

        public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) => inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

        public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
        {
            var enis = await inner.DescribeInstanceEnisAsync(cancellationToken);
            return View is { } view ? view(enis) : enis;
        }

        public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) => inner.CreateAndAttachEniAsync(request, cancellationToken);

        public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) => inner.AssignAsync(eniId, unit, count, cancellationToken);

        public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken) => inner.UnassignAsync(eniId, cidrs, cancellationToken);

        public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) => inner.DetachAndDeleteEniAsync(eniId, cancellationToken);
    }
}
