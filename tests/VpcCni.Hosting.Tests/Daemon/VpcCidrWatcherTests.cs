using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// Upstream's VPC-CIDR watcher (30 s): a changed list re-runs the SNAT reconcile and becomes the node's; a failed or empty
/// read, or the same blocks again, change nothing (reference §2.2, §4.1).
/// </summary>
public sealed class VpcCidrWatcherTests : IDisposable
{
    private static readonly IPNetwork Primary = IPNetwork.Parse("10.0.0.0/16");
    private static readonly IPNetwork Secondary = IPNetwork.Parse("100.64.0.0/16");
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-cidrs-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<NodeStartStep> StartedNodeAsync(INodeNetwork network)
    {
        var cluster = SimulatedCluster.Create("m5.large");
        var step = new NodeStartStep(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), network, null, NullLogger.Instance);
        await step.BeforeInitializeAsync(Ct);
        step.Instance!.VpcCidrs.Should().Equal(Primary);
        return step;
    }

    /// <summary>Advances the fake clock one interval and waits until the watcher has read once more.</summary>
    private static async Task TickAsync(FakeTimeProvider time, ScriptedVpcCidrSource source)
    {
        var before = source.Reads;
        time.Advance(VpcCidrWatcher.DefaultInterval);
        for (var i = 0; i < 500 && source.Reads == before; i++)
        {
            await Task.Delay(10, Ct);
        }

        source.Reads.Should().BeGreaterThan(before, "the watcher reads once per interval");
    }

    [Fact]
    public async Task RunAsync_CidrAssociated_ReconcilesWithTheNewListAfterTheInterval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var network = new RecordingNodeNetwork();
        var node = await StartedNodeAsync(network);
        var source = new ScriptedVpcCidrSource(() => [Primary, Secondary]);
        using var stop = new CancellationTokenSource();
        var watcher = new VpcCidrWatcher(source, network, node, VpcCidrWatcher.DefaultInterval, time, NullLogger.Instance);
        var run = watcher.RunAsync(stop.Token);

        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50, Ct);
        source.Reads.Should().Be(0, "nothing is read before the interval");
        await TickAsync(time, source);
        await TickAsync(time, source); // the second read starts only once the first check has ended

        network.Updates.Should().ContainSingle().Which.Should().Equal(Primary, Secondary);
        node.Instance!.VpcCidrs.Should().Equal(Primary, Secondary);
        await stop.CancelAsync();
        await run;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RunAsync_ReadFailsOrListsNothing_KeepsTheListAndTheRules(bool fails)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var network = new RecordingNodeNetwork();
        var node = await StartedNodeAsync(network);
        var source = new ScriptedVpcCidrSource(() => fails ? throw new CloudException(CloudErrorKind.Other, "IMDS GET failed after 10 attempts") : []);
        using var stop = new CancellationTokenSource();
        var run = new VpcCidrWatcher(source, network, node, VpcCidrWatcher.DefaultInterval, time, NullLogger.Instance).RunAsync(stop.Token);

        await TickAsync(time, source);
        await TickAsync(time, source);
        source.Next = () => [Primary];
        await TickAsync(time, source);

        network.Updates.Should().BeEmpty("a failed read never removes exemptions");
        node.Instance!.VpcCidrs.Should().Equal(Primary);
        run.IsCompleted.Should().BeFalse("the watcher keeps running after a failed read");
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task CheckAsync_SameBlocksInAnotherOrder_NoReconcile()
    {
        var network = new RecordingNodeNetwork();
        var node = await StartedNodeAsync(network);
        node.UseVpcCidrs([Primary, Secondary]);
        var watcher = new VpcCidrWatcher(new ScriptedVpcCidrSource(() => [Secondary, Primary]), network, node, VpcCidrWatcher.DefaultInterval, TimeProvider.System, NullLogger.Instance);

        (await watcher.CheckAsync(Ct)).Should().BeFalse();
        (await watcher.CheckAsync(Ct)).Should().BeFalse();

        network.Updates.Should().BeEmpty();
        node.Instance!.VpcCidrs.Should().Equal(Primary, Secondary);
    }

    [Fact]
    public async Task CheckAsync_ReconcileFails_KeepsTheOldListAndRetriesNextTime()
    {
        var network = new RecordingNodeNetwork { FailuresLeft = 1 };
        var node = await StartedNodeAsync(network);
        var watcher = new VpcCidrWatcher(new ScriptedVpcCidrSource(() => [Primary, Secondary]), network, node, VpcCidrWatcher.DefaultInterval, TimeProvider.System, NullLogger.Instance);

        (await watcher.CheckAsync(Ct)).Should().BeFalse();
        node.Instance!.VpcCidrs.Should().Equal([Primary], "AddNetwork keeps naming what the rules exempt");
        (await watcher.CheckAsync(Ct)).Should().BeTrue();
        (await watcher.CheckAsync(Ct)).Should().BeFalse();

        network.Updates.Should().HaveCount(2);
        node.Instance!.VpcCidrs.Should().Equal(Primary, Secondary);
    }

    [Fact]
    public async Task Daemon_CidrAssociatedWithTheSimulatedVpc_AddNetworkAndIntrospectionFollowIt()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(_directory, "ipam.json"),
            Ipam = new IpamOptions(),
            VpcCidrCheckInterval = TimeSpan.FromMilliseconds(100),
        };
        await using var node = DaemonNodes.Create(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);
        await node.StartAsync(Ct);
        var before = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }, Ct);
        before.VPCv4CIDRs.Should().Equal("10.0.0.0/16");

        cluster.Vpc.AddVpcCidr(cluster.VpcInfo.VpcId, Secondary);
        for (var i = 0; i < 500 && node.Instance!.VpcCidrs.Count < 2; i++)
        {
            await Task.Delay(20, Ct);
        }

        var after = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "c2", IfName = "eth0" }, Ct);
        after.Success.Should().BeTrue(after.FailureReason);
        after.VPCv4CIDRs.Should().Equal("10.0.0.0/16", "100.64.0.0/16");
        var (status, body) = Introspection.Handle("/v1/pool", node, settings);
        status.Should().Be(200);
        Encoding.UTF8.GetString(body).Should().Contain("\"VpcCidrs\":[\"10.0.0.0/16\",\"100.64.0.0/16\"]");
        await node.StopAsync(Ct);
    }
}

/// <summary>A VPC-CIDR source that answers what <see cref="Next"/> gives (or throws), counting reads.</summary>
internal sealed class ScriptedVpcCidrSource(Func<IReadOnlyList<IPNetwork>> next) : IVpcCidrSource
{
    private int _reads;

    public Func<IReadOnlyList<IPNetwork>> Next { get; set; } = next;

    public int Reads => Volatile.Read(ref _reads);

    public ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv4CidrsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return ValueTask.FromResult(Next());
        }
        finally
        {
            Interlocked.Increment(ref _reads);
        }
    }
}

/// <summary>A node network without a host that records the VPC-CIDR updates (failing the first <see cref="FailuresLeft"/>).</summary>
internal sealed class RecordingNodeNetwork : INodeNetwork
{
    private readonly List<IReadOnlyList<IPNetwork>> _updates = [];

    public int FailuresLeft { get; set; }

    public IReadOnlyList<IReadOnlyList<IPNetwork>> Updates
    {
        get
        {
            lock (_updates)
            {
                return [.. _updates];
            }
        }
    }

    public IPodLivenessEvidence? Liveness => null;

    public Task SetupNodeAsync(InstanceIdentity instance, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task UpdateVpcCidrsAsync(InstanceIdentity instance, CancellationToken cancellationToken)
    {
        lock (_updates)
        {
            _updates.Add(instance.VpcCidrs);
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                throw new InvalidOperationException("iptables-restore failed");
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask OnEniAddedAsync(VpcCni.Cloud.NetworkInterface eni, int routeTableId, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask OnEniRemovedAsync(VpcCni.Cloud.NetworkInterface eni, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
