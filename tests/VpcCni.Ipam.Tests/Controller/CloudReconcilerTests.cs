using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class CloudReconcilerTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryPlanningCloud _cloud = new(M5Large);
    private readonly EniLeases _leases = new();
    private readonly PoolDatastore _datastore;
    private readonly CloudReconciler _reconciler;

    public CloudReconcilerTests()
    {
        _datastore = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        var membership = new EniMembership(_datastore, null, NullLogger.Instance);
        var ownership = new EniOwnership(_cloud, _cloud.Identity.InstanceId, manageUntagged: false, NullLogger.Instance);
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var actuator = new PoolActuator(_cloud, membership, ownership, _leases, new ErrorBackoff(_time), waiters, _time,
            NullLogger.Instance, 0, AddressUnit.SecondaryIPv4);
        _reconciler = new CloudReconciler(_cloud, membership, ownership, _leases, actuator, waiters, _time, NullLogger.Instance, 0);
    }

    private static Dictionary<string, string> Ours(string instanceId) => new() { ["node.k8s.amazonaws.com/instance_id"] = instanceId };

    [Fact]
    public async Task ReconcileAsync_EniDetachedBehindOurBack_ExcludedOnFirstMissRemovedOnSecondPodKeptUnplaced()
    {
        var eniId = _cloud.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], Ours(_cloud.Identity.InstanceId));
        (await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None)).Should().BeTrue();
        var key = new AttachmentKey("aws-cni", "c1", "eth0");
        _datastore.Assign(key, PodMetadata.None).EniId.Should().Be(eniId);
        _cloud.DetachOutOfBand(eniId);

        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        _datastore.ContainsEni(eniId).Should().BeTrue("one view may be flapping");
        _datastore.GetEniStates().Single(e => e.Id == eniId).IsExcluded.Should().BeTrue();

        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        _datastore.ContainsEni(eniId).Should().BeFalse();
        _datastore.GetUnplacedAllocations().Select(a => a.Key).Should().Equal(key);
    }

    [Fact]
    public async Task ReconcileAsync_EniLeasedByAnAction_LeftForTheNextReconcile()
    {
        var eniId = _cloud.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], Ours(_cloud.Identity.InstanceId));
        using (_leases.TryAcquire(eniId))
        {
            await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
            _datastore.ContainsEni(eniId).Should().BeFalse();
        }

        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        _datastore.ContainsEni(eniId).Should().BeTrue();
        _leases.AnyHeld.Should().BeFalse();
    }

    [Fact]
    public async Task ReconcileAsync_NoManageEni_CountedAsUnmanagedAndLeftOut()
    {
        var eniId = _cloud.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], new Dictionary<string, string> { ["node.k8s.amazonaws.com/no_manage"] = "true" });

        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);

        _reconciler.UnmanagedEnis.Should().Be(1);
        _datastore.ContainsEni(eniId).Should().BeFalse();
        _reconciler.LastReconcile.Should().Be(_time.GetUtcNow());
    }
}
