using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>
/// The node's place in the fleet, read by the real client (list with resourceVersion=0, then watch) from the
/// emulator's Kubernetes API over loopback HTTP; the emulator's clock (creationTimestamp) is a fake one.
/// </summary>
public sealed class KubernetesFleetMembershipTests : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SimulatedCluster _cluster = SimulatedCluster.Create("m5.large");
    private readonly List<KubernetesFleetMembership> _memberships = [];
    private KubernetesApiEmulator? _api;
    private KubernetesConnection? _connection;

    public async ValueTask DisposeAsync()
    {
        foreach (var membership in _memberships)
        {
            await membership.DisposeAsync();
        }

        _connection?.Dispose();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    private KubernetesApiEmulator StartApi()
    {
        // No node of the simulated VPC is registered: the test creates each node at a time of its choosing.
        var api = new KubernetesApiEmulator(_cluster.Vpc, "http://127.0.0.1:0/", new KubernetesApiEmulatorOptions { TimeProvider = _time, RegisterInstancesAsNodes = false });
        _api = api;
        api.Start();
        _connection = KubernetesConnection.Create(new KubernetesApiSettings().WithServer(api.BaseAddress), TimeProvider.System);
        return api;
    }

    /// <summary>Creates a Node now (the emulator stamps creationTimestamp from the fake clock).</summary>
    private static void AddNode(KubernetesApiEmulator api, string name) =>
        api.Apply(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = name } }.ToJsonString());

    private KubernetesFleetMembership Start(string nodeName)
    {
        var membership = KubernetesFleetMembership.Create(
            new KubernetesApiSettings { NodeName = nodeName }.WithServer(_api!.BaseAddress), _connection!, _time, NullLoggerFactory.Instance);
        _memberships.Add(membership);
        membership.Start();
        return membership;
    }

    [Fact]
    public async Task Current_ThreeNodesCreatedAtDifferentTimes_EachNodeSeesItsRankByCreationTime()
    {
        var api = StartApi();
        // Created oldest first under names that sort the other way: the order is by time, not by name.
        AddNode(api, "node-c");
        _time.Advance(TimeSpan.FromSeconds(5));
        AddNode(api, "node-b");
        _time.Advance(TimeSpan.FromSeconds(5));
        AddNode(api, "node-a");

        var c = Start("node-c");
        var b = Start("node-b");
        var a = Start("node-a");

        await InformerTests.WaitUntilAsync(() => a.Current is not null && b.Current is not null && c.Current is not null, "every node's position");
        c.Current.Should().Be(new FleetPosition(0, 3));
        b.Current.Should().Be(new FleetPosition(1, 3));
        a.Current.Should().Be(new FleetPosition(2, 3));
    }

    [Fact]
    public async Task Current_NodeAddedLater_AppearsLastAndTheOthersKeepTheirRanks()
    {
        var api = StartApi();
        AddNode(api, "node-1");
        _time.Advance(TimeSpan.FromSeconds(1));
        AddNode(api, "node-2");
        _time.Advance(TimeSpan.FromSeconds(1));
        AddNode(api, "node-3");
        var first = Start("node-1");
        var second = Start("node-2");
        var third = Start("node-3");
        await InformerTests.WaitUntilAsync(() => new[] { first, second, third }.All(m => m.Current?.Size == 3), "the first list");

        _time.Advance(TimeSpan.FromSeconds(1));
        AddNode(api, "node-0");
        var newest = Start("node-0");

        await InformerTests.WaitUntilAsync(() => new[] { first, second, third, newest }.All(m => m.Current?.Size == 4), "the watched new node");
        first.Current.Should().Be(new FleetPosition(0, 4));
        second.Current.Should().Be(new FleetPosition(1, 4));
        third.Current.Should().Be(new FleetPosition(2, 4));
        newest.Current.Should().Be(new FleetPosition(3, 4), "the newest node is last even though its name sorts first");
    }

    [Fact]
    public async Task Current_ThisNodeNotInTheList_IsNull()
    {
        var api = StartApi();
        AddNode(api, "node-1");
        AddNode(api, "node-2");

        var stranger = Start("node-9");

        await stranger.Nodes.Synced.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        stranger.Nodes.Count.Should().Be(2);
        stranger.Current.Should().BeNull("this node is not among the cluster's nodes");
    }

    [Fact]
    public async Task Current_AnotherNodeUpdated_PositionUnchanged()
    {
        var api = StartApi();
        AddNode(api, "node-1");
        _time.Advance(TimeSpan.FromSeconds(1));
        AddNode(api, "node-2");
        var membership = Start("node-2");
        await InformerTests.WaitUntilAsync(() => membership.Current is not null, "the first list");
        var versionBefore = membership.Nodes.ResourceVersion;

        api.SetNodePodCapacity("node-1", 58);

        await InformerTests.WaitUntilAsync(() => membership.Nodes.ResourceVersion != versionBefore, "the watched update");
        membership.Current.Should().Be(new FleetPosition(1, 2), "a node's update moves nobody");
    }

    [Fact]
    public void Current_BeforeStart_IsNull()
    {
        StartApi();
        var membership = KubernetesFleetMembership.Create(
            new KubernetesApiSettings { NodeName = "node-1" }.WithServer(_api!.BaseAddress), _connection!, _time, NullLoggerFactory.Instance);
        _memberships.Add(membership);

        membership.Current.Should().BeNull("nothing is known before the first list");
    }

    [Fact]
    public void PositionOf_SameCreationTime_TiesBrokenByOrdinalName()
    {
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        ClusterNode[] nodes = [new("b", created), new("B", created), new("a", created), new("old", created.AddDays(-1))];

        KubernetesFleetMembership.PositionOf(nodes, "old").Should().Be(new FleetPosition(0, 4));
        KubernetesFleetMembership.PositionOf(nodes, "B").Should().Be(new FleetPosition(1, 4), "'B' < 'a' < 'b' ordinally");
        KubernetesFleetMembership.PositionOf(nodes, "a").Should().Be(new FleetPosition(2, 4));
        KubernetesFleetMembership.PositionOf(nodes, "b").Should().Be(new FleetPosition(3, 4));
        KubernetesFleetMembership.PositionOf(nodes, "c").Should().BeNull();
    }

    [Theory]
    [InlineData("2026-01-01T00:00:05Z", 5)]
    [InlineData("2026-01-01T01:00:05+01:00", 5)]
    [InlineData(null, null)]
    [InlineData("yesterday", null)]
    public void ClusterNodeParse_CreationTimestamp_UtcOrMinValue(string? text, int? seconds)
    {
        var parsed = ClusterNode.Parse(text);

        parsed.Should().Be(seconds is { } s ? new DateTimeOffset(2026, 1, 1, 0, 0, s, TimeSpan.Zero) : DateTimeOffset.MinValue);
    }
    [Fact]
    public async Task WaitForFirstListAsync_ApiNeverAnswers_GivesUpAfterTheLimit()
    {
        var time = new FakeTimeProvider();
        await using var membership = new KubernetesFleetMembership("ip-10-0-0-1", new SilentNodes(), time, NullLoggerFactory.Instance);
        membership.Start();

        var waiting = membership.WaitForFirstListAsync(TimeSpan.FromSeconds(10), time, Ct);
        await Task.Delay(50, Ct);
        waiting.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(10));

        (await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Should().BeFalse();
        membership.Current.Should().BeNull("no list: the budget stays a lone node's");
    }

    [Fact]
    public async Task WaitForFirstListAsync_ListIn_True()
    {
        var api = StartApi();
        AddNode(api, "ip-10-0-0-1");
        var membership = Start("ip-10-0-0-1");

        (await membership.WaitForFirstListAsync(TimeSpan.FromSeconds(30), TimeProvider.System, Ct)).Should().BeTrue();
        membership.Current.Should().Be(new FleetPosition(0, 1));
    }

    // A node list that never answers (an API server that accepted the connection and went quiet).
    private sealed class SilentNodes : IListWatchSource<ClusterNode>
    {
        public string Description => "nodes that never come";

        public string KeyOf(ClusterNode item) => item.Name;

        public async Task<ListResult<ClusterNode>> ListAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }

        public async IAsyncEnumerable<WatchEvent<ClusterNode>> WatchAsync(string resourceVersion, TimeSpan timeout, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }
    }
}
