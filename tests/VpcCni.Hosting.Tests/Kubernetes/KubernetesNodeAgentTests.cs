using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cloud;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class KubernetesNodeAgentTests : IAsyncDisposable
{
    private readonly KubernetesConnection _unusedClient = KubernetesConnection.Create(new KubernetesApiSettings().WithServer(new Uri("http://127.0.0.1:9")), TimeProvider.System);
    private static readonly VpcCni.Aws.Simulation.SimulatedCluster Cluster = VpcCni.Aws.Simulation.SimulatedCluster.Create("m5.large");
    private readonly PoolController _controller = new(new VpcCni.Aws.Simulation.SimulatedEniProvider(Cluster.Vpc, Cluster.Nodes[0].InstanceId), new IpamOptions(), TimeProvider.System);
    private KubernetesNodeAgent? _agent;

    public async ValueTask DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        _controller.Dispose();
        _unusedClient.Dispose();
    }

    private KubernetesNodeAgent Agent(FakeListWatch<NodeInfo> node, TimeSpan? syncTimeout = null) =>
        _agent = new KubernetesNodeAgent(
            new KubernetesApiSettings { NodeName = "node-1", InitialSyncTimeout = syncTimeout ?? TimeSpan.FromSeconds(5) }.WithServer(new Uri("http://127.0.0.1:9")),
            new FakeListWatch<PodInfo>(p => p.Key, []),
            node,
            _unusedClient,
            fallbackEvidence: null,
            () => _controller,
            TimeProvider.System,
            NullLoggerFactory.Instance);

    [Fact]
    public async Task BeforeInitialize_NodeAdvertisesPodCapacity_BecomesTheEnginesMaxPods()
    {
        var agent = Agent(new FakeListWatch<NodeInfo>(n => n.Name, [new NodeInfo("node-1", 17)]));

        await agent.BeforeInitializeAsync(CancellationToken.None);
        await _controller.InitializeAsync(CancellationToken.None);

        _controller.Limits.MaxPods.Should().Be(17, "the kubelet's capacity replaces m5.large's computed 29");
    }

    [Fact]
    public async Task NodeModified_NewCapacity_UpdatesMaxPodsAtRunTime()
    {
        var node = new FakeListWatch<NodeInfo>(n => n.Name, [new NodeInfo("node-1", 17)]);
        var agent = Agent(node);
        await agent.BeforeInitializeAsync(CancellationToken.None);
        await _controller.InitializeAsync(CancellationToken.None);

        node.Push(WatchEventKind.Modified, new NodeInfo("node-1", 20));

        await InformerTests.WaitUntilAsync(() => _controller.Limits.MaxPods == 20, "the new capacity");
    }

    [Fact]
    public async Task BeforeInitialize_ApiDown_StartsWithinTheTimeoutKeepingTheInstanceValue()
    {
        var agent = Agent(new FakeListWatch<NodeInfo>(n => n.Name, [], failList: true), syncTimeout: TimeSpan.FromMilliseconds(200));

        await agent.BeforeInitializeAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await _controller.InitializeAsync(CancellationToken.None);

        _controller.Limits.MaxPods.Should().Be(29);
        agent.Node.HasSynced.Should().BeFalse();
    }

    [Fact]
    public async Task DisposeAsync_Twice_IsHarmless()
    {
        var agent = Agent(new FakeListWatch<NodeInfo>(n => n.Name, [new NodeInfo("node-1", 17)]));
        agent.Start();

        await agent.DisposeAsync();
        var again = async () => await agent.DisposeAsync();

        await again.Should().NotThrowAsync("the container disposes the agent once per registration (itself and the start step)");
    }

    [Theory]
    [InlineData("110", 110)]
    [InlineData("0", null)]
    [InlineData("1k", null)]
    [InlineData(null, null)]
    public void NodeInfoPods_OnlyPlainPositiveIntegers(string? quantity, int? expected) =>
        NodeInfo.Pods(quantity).Should().Be(expected);
}
