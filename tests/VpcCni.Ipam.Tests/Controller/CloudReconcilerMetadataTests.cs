using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>The periodic reconcile reads the instance metadata first and asks the cloud only when it differs (upstream §2.16).</summary>
public sealed class CloudReconcilerMetadataTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryPlanningCloud _inner = new(M5Large);
    private readonly MetadataCloud _cloud;
    private readonly PoolDatastore _datastore;
    private readonly CloudReconciler _reconciler;

    public CloudReconcilerMetadataTests()
    {
        _cloud = new MetadataCloud(_inner);
        _datastore = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        var membership = new EniMembership(_datastore, null, NullLogger.Instance);
        var ownership = new EniOwnership(_cloud, _inner.Identity.InstanceId, manageUntagged: false, NullLogger.Instance);
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var leases = new EniLeases();
        var actuator = new PoolActuator(_cloud, membership, ownership, leases, new ErrorBackoff(_time), waiters, _time,
            NullLogger.Instance, 0, AddressUnit.SecondaryIPv4);
        _reconciler = new CloudReconciler(_cloud, membership, ownership, leases, actuator, waiters, _time, NullLogger.Instance, 0);
    }

    private Dictionary<string, string> Ours() => new() { ["node.k8s.amazonaws.com/instance_id"] = _inner.Identity.InstanceId };

    [Fact]
    public async Task ReconcileAsync_MetadataAgreesWithThePool_CloudNotAsked()
    {
        _inner.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], Ours());
        _inner.AttachOutOfBand([IPNetwork.Parse("10.0.6.1/32")], new Dictionary<string, string> { ["owner"] = "someone else" });
        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
        _cloud.Describes.Should().Be(1);

        for (var i = 0; i < 5; i++)
        {
            (await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None)).Should().BeTrue();
        }

        _cloud.Describes.Should().Be(1, "the metadata listed the pool's ENIs and addresses (the unmanaged ENI skipped as the cloud's view said)");
        _cloud.MetadataReads.Should().Be(5);
        _reconciler.LastReconcile.Should().Be(_time.GetUtcNow());
    }

    [Fact]
    public async Task ReconcileAsync_MetadataShowsAnAddressThePoolLacks_CloudAskedAndTrusted()
    {
        var eni = _inner.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], Ours());
        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
        _inner.AddCidrOutOfBand(eni, IPNetwork.Parse("10.0.5.2/32"));

        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);

        _cloud.Describes.Should().Be(2);
        _datastore.GetCidrs(eni).Should().Contain(IPNetwork.Parse("10.0.5.2/32"));
    }

    [Fact]
    public async Task ReconcileAsync_EniGoneFromMetadata_CloudAskedTwiceBeforeRemoval()
    {
        var eni = _inner.AttachOutOfBand([IPNetwork.Parse("10.0.5.1/32")], Ours());
        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
        _inner.DetachOutOfBand(eni);

        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);

        _cloud.Describes.Should().Be(3, "a difference, then an ENI missing once: the cloud's view both times");
        _datastore.ContainsEni(eni).Should().BeFalse();
    }

    [Fact]
    public async Task ReconcileAsync_NoMetadataOrEveryTenthTime_CloudAsked()
    {
        await _reconciler.ReconcileAsync(initializing: true, CancellationToken.None);
        for (var i = 0; i < CloudReconciler.CloudViewEvery; i++)
        {
            await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        }

        _cloud.Describes.Should().Be(2, "nine reconciles settled by the metadata, the tenth asks the cloud (tags, subnet exclusion)");
        _cloud.Unavailable = true;
        await _reconciler.ReconcileAsync(initializing: false, CancellationToken.None);
        _cloud.Describes.Should().Be(3, "no metadata: the cloud is asked");
    }

    /// <summary>The in-memory cloud with an instance-metadata view of its own state (or none), counting both kinds of read.</summary>
    private sealed class MetadataCloud(InMemoryPlanningCloud inner) : IEniProvider, IInstanceEniMetadata
    {
        public int Describes { get; private set; }

        public int MetadataReads { get; private set; }

        public bool Unavailable { get; set; }

        public async ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken)
        {
            MetadataReads++;
            return Unavailable ? null : await inner.DescribeInstanceEnisAsync(cancellationToken);
        }

        public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
        {
            Describes++;
            return inner.DescribeInstanceEnisAsync(cancellationToken);
        }

        public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

        public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) => inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

        public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) => inner.CreateAndAttachEniAsync(request, cancellationToken);

        public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) => inner.AssignAsync(eniId, unit, count, cancellationToken);

        public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken) => inner.UnassignAsync(eniId, cidrs, cancellationToken);

        public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) => inner.DetachAndDeleteEniAsync(eniId, cancellationToken);

        public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) => inner.EnsureEniTagsAsync(eni, cancellationToken);
    }
}
