using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>What a reconcile tells the pool's observer (a host's metrics): upstream's reconcile counts and force removals.</summary>
public sealed class CloudReconcilerObserverTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryPlanningCloud _cloud = new(M5Large);
    private readonly PoolDatastore _datastore;
    private readonly RecordingObserver _observer = new();
    private readonly CloudReconciler _reconciler;

    public CloudReconcilerObserverTests()
    {
        _datastore = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        var leases = new EniLeases();
        var membership = new EniMembership(_datastore, null, NullLogger.Instance);
        var ownership = new EniOwnership(_cloud, _cloud.Identity.InstanceId, manageUntagged: false, NullLogger.Instance);
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var actuator = new PoolActuator(_cloud, membership, ownership, leases, new ErrorBackoff(_time), waiters, _time,
            NullLogger.Instance, 0, AddressUnit.SecondaryIPv4, observer: _observer);
        _reconciler = new CloudReconciler(_cloud, membership, ownership, leases, actuator, waiters, _time, NullLogger.Instance, 0, _observer);
    }

    [Fact]
    public async Task ReconcileAsync_EniAttachedThenDetachedWithAPod_ReportsAddRemoveAndForceRemoval()
    {
        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
        _observer.Events.Should().BeEmpty("loading the cloud's view at start is initialisation, not a reconcile");

        var eniId = _cloud.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], new Dictionary<string, string> { ["node.k8s.amazonaws.com/instance_id"] = _cloud.Identity.InstanceId });
        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        _datastore.Assign(new AttachmentKey("aws-cni", "c1", "eth0"), PodMetadata.None).EniId.Should().Be(eniId);
        _cloud.DetachOutOfBand(eniId);
        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);

        _observer.Events.Should().Contain(["start Reconcile", "EniAdded 1", "EniRemoved 1", "forced 1 1"])
            .And.HaveCount(3 * 2 + 3, "three reconciles started and ended");
        _observer.Events.Where(e => e.StartsWith("start", StringComparison.Ordinal)).Should().HaveCount(3);
    }

    private sealed class RecordingObserver : IPoolObserver
    {
        public List<string> Events { get; } = [];

        public void ActivityStarted(PoolActivity activity) => Events.Add($"start {activity}");

        public void ActivityEnded(PoolActivity activity, bool succeeded) => Events.Add($"end {activity} {succeeded}");

        public void Failed(PoolFailure failure) => Events.Add($"failed {failure}");

        public void Reconciled(PoolReconcileChange change, int count) => Events.Add($"{change} {count}");

        public void ForceRemoved(int enis, int addresses) => Events.Add($"forced {enis} {addresses}");
    }
}
