using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;
using VpcCni.Configuration;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>The pool controller in IPv6 mode: the primary ENI's /80, pods' /128s, the checkpoint, no pool.</summary>
public sealed class PoolControllerIPv6Tests : IDisposable
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ipam-v6-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public PoolControllerIPv6Tests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Checkpoint => Path.Combine(_dir, "ipam.json");

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private IpamOptions V6Options() => new() { EnableIPv6 = true, EnablePrefixDelegation = true, WarmPrefixTarget = 1, BackingStorePath = Checkpoint };

    private PoolController Controller(InMemoryPlanningCloud cloud, FakeIPv6Cloud v6, IpamOptions options) =>
        new(cloud, options, _time, null, null, null, 0, inlineSignals: true) { IPv6Cloud = v6 };

    [Fact]
    public async Task Initialize_IPv6_EnsuresThePrimaryPrefixAndCreatesNoEniNorIPv4()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var v6 = new FakeIPv6Cloud();
        using var c = Controller(cloud, v6, V6Options());

        await c.InitializeAsync(CancellationToken.None);

        v6.Ensured.Should().Equal("eni-primary");
        c.IPv6!.Prefixes.Should().Equal(FakeIPv6Cloud.Prefix);
        (await cloud.DescribeInstanceEnisAsync(CancellationToken.None)).Should().ContainSingle().Which.SecondaryIPv4.Should().BeEmpty();
        c.Datastore.GetStats().TotalIPs.Should().Be(0);
        File.Exists(Checkpoint).Should().BeTrue();
    }

    [Fact]
    public async Task Initialize_IPv6OnXen_RefusedNamingEnableIPv6()
    {
        var cloud = new InMemoryPlanningCloud(new InstanceLimits("m4.large", 2, 10) { Hypervisor = "xen" });
        using var c = Controller(cloud, new FakeIPv6Cloud(), V6Options());

        var act = () => c.InitializeAsync(CancellationToken.None);

        (await act.Should().ThrowAsync<InvalidSettingException>()).Which.Name.Should().Be("ENABLE_IPv6");
    }

    [Fact]
    public async Task AssignAndUnassign_IPv6_RecordedInTheCheckpointAndRestoredAfterRestart()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var v6 = new FakeIPv6Cloud();
        IPAddress kept;
        using (var c = Controller(cloud, v6, V6Options()))
        {
            await c.InitializeAsync(CancellationToken.None);
            kept = (await c.AssignIPv6Async(Key(1), new PodMetadata("default", "a"), CancellationToken.None)).Allocation!.Address;
            var gone = (await c.AssignIPv6Async(Key(2), new PodMetadata("default", "b"), CancellationToken.None)).Allocation!.Address;
            (await c.UnassignIPv6Async(Key(2), CancellationToken.None))!.Address.Should().Be(gone);
            (await c.UnassignIPv6Async(Key(3), CancellationToken.None)).Should().BeNull();
        }

        var text = await File.ReadAllTextAsync(Checkpoint, TestContext.Current.CancellationToken);
        text.Should().Contain($"\"ipv6\":\"{kept}\"").And.NotContain("\"ipv4\"").And.Contain("\"k8sPodName\":\"a\"").And.NotContain("\"k8sPodName\":\"b\"");

        using var restarted = Controller(cloud, v6, V6Options());
        await restarted.InitializeAsync(CancellationToken.None);
        restarted.IPv6!.Find(Key(1))!.Address.Should().Be(kept);
        restarted.IPv6.AssignedCount.Should().Be(1);
        (await restarted.AssignIPv6Async(Key(1), PodMetadata.None, CancellationToken.None)).Reused.Should().BeTrue();
        v6.Ensured.Should().Equal("eni-primary", "eni-primary");
    }

    [Fact]
    public async Task Initialize_IPv6CheckpointWithForeignEntries_DroppedAndRewritten()
    {
        await File.WriteAllTextAsync(Checkpoint,
            "{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[" +
            "{\"networkName\":\"aws-cni\",\"containerID\":\"old4\",\"ifName\":\"eth0\",\"ipv4\":\"10.0.0.5\",\"allocationTimestamp\":1,\"metadata\":{}}," +
            "{\"networkName\":\"aws-cni\",\"containerID\":\"elsewhere\",\"ifName\":\"eth0\",\"ipv6\":\"fd00:1::5\",\"allocationTimestamp\":1,\"metadata\":{}}," +
            "{\"networkName\":\"aws-cni\",\"containerID\":\"mine\",\"ifName\":\"eth0\",\"ipv6\":\"2600:1f14:abc:de00:1234::9\",\"allocationTimestamp\":7,\"metadata\":{\"k8sPodName\":\"p\"}}]}\n",
            TestContext.Current.CancellationToken);
        using var c = Controller(new InMemoryPlanningCloud(M5Large), new FakeIPv6Cloud(), V6Options());

        await c.InitializeAsync(CancellationToken.None);

        c.IPv6!.Allocations.Select(a => a.Key.ContainerId).Should().Equal("mine");
        var text = await File.ReadAllTextAsync(Checkpoint, TestContext.Current.CancellationToken);
        text.Should().Contain("mine").And.NotContain("old4").And.NotContain("elsewhere");
    }

    [Fact]
    public async Task Run_IPv6_NoPoolLoopUntilStopped()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        using var c = Controller(cloud, new FakeIPv6Cloud(), V6Options());
        await c.InitializeAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();

        var loop = c.RunAsync(cts.Token);
        _time.Advance(TimeSpan.FromMinutes(10));
        await cts.CancelAsync();
        await loop;

        (await cloud.DescribeInstanceEnisAsync(CancellationToken.None)).Should().ContainSingle();
    }

    /// <summary>Records which ENIs were given a prefix; every ENI has the same /80.</summary>
    private sealed class FakeIPv6Cloud : IIPv6PrefixProvider
    {
        public static readonly IPNetwork Prefix = IPNetwork.Parse("2600:1f14:abc:de00:1234::/80");

        public List<string> Ensured { get; } = [];

        public ValueTask<IReadOnlyList<IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken)
        {
            Ensured.Add(eniId);
            return ValueTask.FromResult<IReadOnlyList<IPNetwork>>([Prefix]);
        }

        public ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<IPNetwork>>([Prefix]);

        public ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<IPNetwork>>([IPNetwork.Parse("2600:1f14:abc:de00::/56")]);
    }
}
