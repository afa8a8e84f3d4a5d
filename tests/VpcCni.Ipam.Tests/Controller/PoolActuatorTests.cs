using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class PoolActuatorTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryPlanningCloud _cloud = new(M5Large);
    private readonly EniLeases _leases = new();
    private readonly PoolDatastore _datastore;
    private readonly ErrorBackoff _backoff;
    private readonly PoolActuator _actuator;

    public PoolActuatorTests()
    {
        _datastore = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        _backoff = new ErrorBackoff(_time);
        var membership = new EniMembership(_datastore, null, NullLogger.Instance);
        var ownership = new EniOwnership(_cloud, _cloud.Identity.InstanceId, manageUntagged: false, NullLogger.Instance);
        _actuator = new PoolActuator(_cloud, membership, ownership, _leases, _backoff, new AssignWaiters(_time, inlineSignals: true), _time,
            NullLogger.Instance, 0, AddressUnit.SecondaryIPv4);
        var primary = _cloud.DescribeInstanceEnisAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult().Single();
        membership.AddAsync(primary, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private static GrowAction TopUpPrimary(int units) => new("eni-primary", units);

    [Fact]
    public async Task GrowAsync_CloudAssigns_DoneAndAddressesInTheDatastore()
    {
        var outcome = await _actuator.GrowAsync(TopUpPrimary(3), CancellationToken.None);

        outcome.Should().Be(ActuationOutcome.Done);
        _datastore.GetStats().TotalIPs.Should().Be(3);
        _actuator.CloudMutations.Should().Be(1);
        _leases.AnyHeld.Should().BeFalse();
    }

    [Fact]
    public async Task GrowAsync_SubnetFull_ReturnsGrowthFailedAndStartsTheBackoff()
    {
        _cloud.FaultInjector = op => op == "Assign" ? new CloudException(CloudErrorKind.SubnetFull, "no addresses") : null;

        var outcome = await _actuator.GrowAsync(TopUpPrimary(3), CancellationToken.None);

        outcome.Status.Should().Be(ActuationStatus.GrowthFailed);
        outcome.Error.Should().Be(CloudErrorKind.SubnetFull);
        outcome.Progressed.Should().BeFalse();
        _backoff.LastInsufficientCapacity.Should().Be(_time.GetUtcNow());
        _actuator.CloudMutations.Should().Be(2, "upstream retries a refused bulk request for one unit, also when the subnet is full");
        _leases.AnyHeld.Should().BeFalse();
    }

    [Fact]
    public async Task GrowAsync_SubnetHasFewerAddressesThanAsked_RetriedForOneUnit()
    {
        var cloud = new InMemoryPlanningCloud(M5Large, subnetFreeAddresses: 2);
        var datastore = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        var membership = new EniMembership(datastore, null, NullLogger.Instance);
        var actuator = new PoolActuator(cloud, membership, new EniOwnership(cloud, cloud.Identity.InstanceId, manageUntagged: false, NullLogger.Instance),
            new EniLeases(), _backoff, new AssignWaiters(_time, inlineSignals: true), _time, NullLogger.Instance, 0, AddressUnit.SecondaryIPv4);
        await membership.AddAsync((await cloud.DescribeInstanceEnisAsync(CancellationToken.None)).Single(), CancellationToken.None);

        var outcome = await actuator.GrowAsync(TopUpPrimary(5), CancellationToken.None);

        outcome.Should().Be(ActuationOutcome.Done);
        datastore.GetStats().TotalIPs.Should().Be(1);
        _backoff.LastInsufficientCapacity.Should().BeNull();
    }

    [Fact]
    public async Task GrowAsync_EniAddressLimitExceeded_ReturnsEniFullWithoutRecordingAFailure()
    {
        _cloud.FaultInjector = op => op == "Assign" ? new CloudException(CloudErrorKind.EniAddressLimitExceeded, "full") : null;

        var outcome = await _actuator.GrowAsync(TopUpPrimary(3), CancellationToken.None);

        outcome.Status.Should().Be(ActuationStatus.EniFull);
        _backoff.LastError.Should().BeNull("the caller reconciles and falls back to a new ENI");
        _leases.AnyHeld.Should().BeFalse("the lease ends before the caller reconciles");
    }

    [Fact]
    public async Task GrowAsync_BulkRequestFails_RetriedForOneUnit()
    {
        var calls = 0;
        _cloud.FaultInjector = op => op == "Assign" && calls++ == 0 ? new CloudException(CloudErrorKind.Other, "bulk refused") : null;

        var outcome = await _actuator.GrowAsync(TopUpPrimary(3), CancellationToken.None);

        outcome.Should().Be(ActuationOutcome.Done);
        _datastore.GetStats().TotalIPs.Should().Be(1);
        _actuator.CloudMutations.Should().Be(2);
        _backoff.LastError.Should().BeNull();
    }

    [Fact]
    public async Task GrowAsync_EniLeasedElsewhere_NotDoneWithoutACloudCall()
    {
        using var held = _leases.TryAcquire("eni-primary");

        var outcome = await _actuator.GrowAsync(TopUpPrimary(3), CancellationToken.None);

        outcome.Should().Be(ActuationOutcome.NotDone);
        _actuator.CloudMutations.Should().Be(0);
    }

    [Fact]
    public async Task CreateEniAsync_AttachmentLimit_ReturnsGrowthFailed()
    {
        _cloud.FaultInjector = op => op == "CreateAndAttachEni" ? new CloudException(CloudErrorKind.AttachmentLimitExceeded, "no slot") : null;

        var outcome = await _actuator.CreateEniAsync(5, CancellationToken.None);

        outcome.Should().Be(new ActuationOutcome(ActuationStatus.GrowthFailed, CloudErrorKind.AttachmentLimitExceeded, "no slot"));
        _backoff.LastError.Should().Be(CloudErrorKind.AttachmentLimitExceeded);
        _datastore.EniCount.Should().Be(1);
    }

    [Fact]
    public async Task ReleaseAsync_CloudRefuses_CloudBehindButTheDatastoreShrankAndTheThrottleStarts()
    {
        await _actuator.GrowAsync(TopUpPrimary(2), CancellationToken.None);
        var cidrs = _datastore.GetCidrs("eni-primary");
        _cloud.FaultInjector = op => op == "Unassign" ? new CloudException(CloudErrorKind.Throttled, "slow down") : null;

        var outcome = await _actuator.ReleaseAsync(new ReleaseAction("eni-primary", cidrs), CancellationToken.None);

        outcome.Status.Should().Be(ActuationStatus.CloudBehind);
        outcome.Progressed.Should().BeTrue("the next reconcile squares datastore and cloud");
        _datastore.GetStats().TotalIPs.Should().Be(0);
        _actuator.LastDecrease.Should().Be(_time.GetUtcNow());
        _backoff.LastError.Should().BeNull("a failed release is not a failed growth");
    }

    [Fact]
    public async Task DeleteEniAsync_EniInUse_NotDoneWithoutACloudCall()
    {
        await _actuator.CreateEniAsync(2, CancellationToken.None);
        var eniId = _datastore.GetEniIds().Single(id => id != "eni-primary");
        _datastore.Assign(new AttachmentKey("aws-cni", "c1", "eth0"), PodMetadata.None).Status.Should().Be(AssignStatus.Assigned);
        var before = _actuator.CloudMutations;

        var outcome = await _actuator.DeleteEniAsync(eniId, CancellationToken.None);

        outcome.Should().Be(ActuationOutcome.NotDone);
        _actuator.CloudMutations.Should().Be(before);
        _datastore.ContainsEni(eniId).Should().BeTrue();
    }

    [Fact]
    public async Task DeleteEniAsync_CloudRefuses_CloudBehindAndTheEniLeftTheDatastore()
    {
        await _actuator.CreateEniAsync(2, CancellationToken.None);
        var eniId = _datastore.GetEniIds().Single(id => id != "eni-primary");
        _cloud.FaultInjector = op => op == "DetachAndDeleteEni" ? new CloudException(CloudErrorKind.Transient, "try again") : null;

        var outcome = await _actuator.DeleteEniAsync(eniId, CancellationToken.None);

        outcome.Should().Be(new ActuationOutcome(ActuationStatus.CloudBehind, CloudErrorKind.Transient));
        _datastore.ContainsEni(eniId).Should().BeFalse("the next reconcile adds it back if it is still attached");
    }
}
