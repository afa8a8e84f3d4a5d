using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>The informer over the real client (KubernetesClient.Aot lists, line-decoded watches) against a scripted loopback server.</summary>
public sealed class InformerTests : IAsyncLifetime
{
    private const string PodsPath = "/api/v1/pods";
    private static readonly InformerTiming Fast = new() { MinBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) };
    private ScriptedKubeServer _server = null!;
    private KubernetesConnection _connection = null!;
    private readonly CancellationTokenSource _stop = new();

    public async ValueTask InitializeAsync()
    {
        _server = await ScriptedKubeServer.StartAsync();
        _connection = KubernetesConnection.Create(new KubernetesApiSettings { NodeName = "node-1" }.WithServer(_server.BaseAddress), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _connection.Dispose();
        await _server.DisposeAsync();
        _stop.Dispose();
    }

    private Informer<PodInfo> Start(InformerTiming? timing = null)
    {
        var informer = new Informer<PodInfo>(new NodePodsListWatch(_connection, "node-1"), timing ?? Fast, TimeProvider.System, NullLogger.Instance);
        _ = informer.RunAsync(_stop.Token);
        return informer;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            timeout.Token.IsCancellationRequested.Should().BeFalse($"timed out waiting for {what}");
            await Task.Delay(10, CancellationToken.None);
        }
    }

    [Fact]
    public async Task RunAsync_ListThenWatchEvents_CacheFollowsAddModifyDelete()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10", KubeJson.Pod("default", "a", "5")));
        _server.EnqueueWatch(PodsPath,
            new WatchStep.Line(KubeJson.Event("ADDED", KubeJson.Pod("default", "b", "11"))),
            new WatchStep.Line(KubeJson.Event("MODIFIED", KubeJson.Pod("default", "a", "12", podIps: "10.0.0.5"))),
            new WatchStep.Line(KubeJson.Event("DELETED", KubeJson.Pod("default", "b", "13"))),
            new WatchStep.Hang());

        var informer = Start();

        await WaitUntilAsync(() => informer.ResourceVersion == "13", "the DELETED event");
        informer.Items.Select(p => p.Key).Should().Equal("default/a");
        informer.TryGet("default/a", out var a).Should().BeTrue();
        a.PodIpsAnnotation.Should().Be("10.0.0.5");
        var list = _server.RequestsTo(PodsPath)[0];
        list.Query["fieldSelector"].Should().Be("spec.nodeName=node-1");
        var watch = _server.RequestsTo(PodsPath).First(r => r.IsWatch);
        watch.Query["resourceVersion"].Should().Be("10", "the watch starts at the list's resource version");
        watch.Query["fieldSelector"].Should().Be("spec.nodeName=node-1");
    }

    [Fact]
    public async Task RunAsync_WatchClosedByServer_ResumesFromTheLastResourceVersionWithoutRelisting()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10"));
        _server.EnqueueWatch(PodsPath, new WatchStep.Line(KubeJson.Event("ADDED", KubeJson.Pod("default", "a", "17"))), new WatchStep.Close());

        var informer = Start();

        await WaitUntilAsync(() => _server.RequestsTo(PodsPath).Count(r => r.IsWatch) >= 2, "the second watch");
        var watches = _server.RequestsTo(PodsPath).Where(r => r.IsWatch).ToList();
        watches[1].Query["resourceVersion"].Should().Be("17");
        informer.Lists.Should().Be(1);
        informer.TryGet("default/a", out _).Should().BeTrue();
    }

    [Fact]
    public async Task RunAsync_ErrorEvent410_Relists()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10", KubeJson.Pod("default", "old", "3")));
        _server.EnqueueWatch(PodsPath, new WatchStep.Line(KubeJson.Gone()));
        _server.EnqueueList(PodsPath, KubeJson.PodList("50", KubeJson.Pod("default", "new", "49")));

        var informer = Start();

        await WaitUntilAsync(() => informer.Lists == 2, "the relist");
        informer.Items.Select(p => p.Key).Should().Equal("default/new");
        informer.ResourceVersion.Should().Be("50");
    }

    [Fact]
    public async Task RunAsync_WatchAnswered410_Relists()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10"));
        _server.EnqueueWatchStatus(PodsPath, 410, """{"kind":"Status","code":410}""");
        _server.EnqueueList(PodsPath, KubeJson.PodList("60"));

        var informer = Start();

        await WaitUntilAsync(() => informer.Lists == 2, "the relist");
        informer.ResourceVersion.Should().Be("60");
    }

    [Fact]
    public async Task RunAsync_ApiDownAtStart_BacksOffThenSyncs()
    {
        _server.EnqueueList(PodsPath, """{"kind":"Status","code":503}""", status: 503);
        _server.EnqueueList(PodsPath, """{"kind":"Status","code":503}""", status: 503);
        _server.EnqueueList(PodsPath, KubeJson.PodList("10", KubeJson.Pod("default", "a", "5")));

        var informer = Start();

        await WaitUntilAsync(() => _server.RequestsTo(PodsPath).Count >= 1, "the first list");
        informer.HasSynced.Should().BeFalse();
        informer.IsConnected.Should().BeFalse();
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        informer.IsConnected.Should().BeTrue();
        informer.Items.Should().ContainSingle();
        _server.RequestsTo(PodsPath).Count(r => !r.IsWatch).Should().Be(3, "two failed lists, then the one that synced");
    }

    [Fact]
    public async Task RunAsync_ApiDownMidRun_KeepsTheCacheAndRecovers()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10", KubeJson.Pod("default", "a", "5")));
        _server.EnqueueWatchStatus(PodsPath, 503);
        _server.EnqueueList(PodsPath, """{"kind":"Status","code":503}""", status: 503);
        _server.EnqueueList(PodsPath, KubeJson.PodList("20", KubeJson.Pod("default", "a", "5"), KubeJson.Pod("default", "b", "19")));

        var informer = Start();

        await WaitUntilAsync(() => informer.Lists == 2, "the recovery");
        informer.IsConnected.Should().BeTrue();
        informer.Count.Should().Be(2);
    }

    [Fact]
    public async Task RunAsync_ResyncPeriodElapses_RelistsWhileTheWatchIsHealthy()
    {
        _server.EnqueueList(PodsPath, KubeJson.PodList("10"));
        _server.EnqueueList(PodsPath, KubeJson.PodList("11"));

        var informer = Start(Fast with { Resync = TimeSpan.FromSeconds(1) });

        await WaitUntilAsync(() => informer.Lists == 2, "the resync");
        informer.ResourceVersion.Should().Be("11");
    }

    [Fact]
    public async Task RunAsync_ModifiedEventEqualToTheCachedItem_NoChanged()
    {
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var source = new FakeListWatch<ClusterNode>(n => n.Name, [new ClusterNode("node-1", created)]);
        var changes = 0;
        var informer = new Informer<ClusterNode>(source, Fast, TimeProvider.System, NullLogger.Instance) { Changed = _ => Interlocked.Increment(ref changes) };
        _ = informer.RunAsync(_stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        source.Push(WatchEventKind.Modified, new ClusterNode("node-1", created));
        source.Push(WatchEventKind.Added, new ClusterNode("node-2", created));

        await WaitUntilAsync(() => informer.Count == 2, "the ADDED event");
        changes.Should().Be(2, "the list and the new node change the cache; an equal update does not");
    }
}
