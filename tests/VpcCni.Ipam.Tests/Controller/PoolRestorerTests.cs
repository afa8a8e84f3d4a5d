using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class PoolRestorerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ipam-restorer-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public PoolRestorerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AttachmentKey Key(string id) => new("aws-cni", id, "eth0");

    private static PodAddress Ip(string s) => PodAddress.From(IPAddress.Parse(s));

    private PoolDatastore DatastoreWithOneEni()
    {
        var ds = new PoolDatastore(0, prefixDelegation: false, TimeSpan.FromSeconds(30), _time);
        ds.AddEni(new EniRegistration("eni-a", 0, true, 254, "subnet-1"));
        ds.AddCidr("eni-a", IPNetwork.Parse("10.0.0.5/32"));
        ds.AddCidr("eni-a", IPNetwork.Parse("10.0.0.6/32"));
        return ds;
    }

    [Fact]
    public async Task RestoreAsync_GoneAndLivePods_DropsOnlyTheGoneOneAndCleansItUp()
    {
        var path = Path.Combine(_dir, "record.json");
        using (var writer = new DurableAllocationStore(path))
        {
            writer.Load();
            await writer.AppendAssignAsync(new AllocationRecord(Key("live"), Ip("10.0.0.5"), 1, PodMetadata.None), CancellationToken.None);
            await writer.AppendAssignAsync(new AllocationRecord(Key("gone"), Ip("10.0.0.6"), 1, PodMetadata.None), CancellationToken.None);
        }

        using var store = new DurableAllocationStore(path);
        var liveness = new GoneById("gone");
        var ds = DatastoreWithOneEni();

        await new PoolRestorer(store, liveness, NullLogger.Instance, _time).RestoreAsync(ds, TimeSpan.FromSeconds(30), CancellationToken.None);

        ds.GetAllocations().Select(a => a.Key).Should().Equal(Key("live"));
        liveness.CleanedUp.Should().Equal(Key("gone"));
    }

    [Fact]
    public async Task RestoreAsync_GonePod_AddressCoolsDownBeforeReuse()
    {
        var path = Path.Combine(_dir, "record.json");
        using (var writer = new DurableAllocationStore(path))
        {
            writer.Load();
            await writer.AppendAssignAsync(new AllocationRecord(Key("gone"), Ip("10.0.0.6"), 1, PodMetadata.None), CancellationToken.None);
        }

        using var store = new DurableAllocationStore(path);
        var ds = DatastoreWithOneEni();

        await new PoolRestorer(store, new GoneById("gone"), NullLogger.Instance, _time).RestoreAsync(ds, TimeSpan.FromSeconds(30), CancellationToken.None);

        ds.GetStats().CoolingIPs.Should().Be(1, "a dropped allocation is released as by a DEL, cooldown included");
        _time.Advance(TimeSpan.FromSeconds(31));
        ds.GetStats().CoolingIPs.Should().Be(0);
    }

    [Fact]
    public async Task RestoreAsync_RecordedAddressOnNoEni_KeptUnplacedWithoutLiveness()
    {
        var path = Path.Combine(_dir, "record.json");
        using (var writer = new DurableAllocationStore(path))
        {
            writer.Load();
            await writer.AppendAssignAsync(new AllocationRecord(Key("elsewhere"), Ip("10.9.9.9"), 1, PodMetadata.None), CancellationToken.None);
        }

        using var store = new DurableAllocationStore(path);
        var ds = DatastoreWithOneEni();

        await new PoolRestorer(store, liveness: null, NullLogger.Instance, _time).RestoreAsync(ds, TimeSpan.FromSeconds(30), CancellationToken.None);

        ds.GetUnplacedAllocations().Select(a => a.Key).Should().Equal(Key("elsewhere"));
        ds.GetStats().AssignedIPs.Should().Be(0, "an unplaced allocation holds no pool address");
    }

    private sealed class GoneById(string containerId) : IPodLivenessEvidence
    {
        public List<AttachmentKey> CleanedUp { get; } = [];

        public bool IsPodGone(AllocationRecord allocation) => allocation.Key.ContainerId == containerId;

        public ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken)
        {
            CleanedUp.Add(allocation.Key);
            return ValueTask.CompletedTask;
        }
    }
}
