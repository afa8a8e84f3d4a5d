using System.Net;
using System.Threading.Channels;
using FluentAssertions;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Xunit;

namespace VpcCni.Aws.Tests.Emulation.Kubernetes;

/// <summary>Watches through the real KubernetesClient: events, resume, 410 Expired, bookmarks, selectors, cut streams.</summary>
public sealed class KubernetesApiWatchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Runs a pod watch in the background and queues what it sees (events, then the errors and the end).</summary>
    private sealed class PodWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        private readonly Task _pump;

        public PodWatch(KubeApi api, string? resourceVersion = null, bool bookmarks = false, string? fieldSelector = null, string? labelSelector = null)
        {
            var events = api.Client.CoreV1.WatchListPodForAllNamespacesAsync(
                resourceVersion: resourceVersion,
                allowWatchBookmarks: bookmarks,
                fieldSelector: fieldSelector,
                labelSelector: labelSelector,
                onError: e => Errors.Writer.TryWrite(e),
                cancellationToken: _stop.Token);
            _pump = Task.Run(async () =>
            {
                try
                {
                    await foreach (var (type, pod) in events)
                    {
                        Events.Writer.TryWrite((type, pod));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Errors.Writer.TryWrite(e);
                }
                finally
                {
                    Events.Writer.TryComplete();
                }
            });
        }

        public Channel<(WatchEventType Type, V1Pod Pod)> Events { get; } = Channel.CreateUnbounded<(WatchEventType, V1Pod)>();

        public Channel<Exception> Errors { get; } = Channel.CreateUnbounded<Exception>();

        public async Task<(WatchEventType Type, V1Pod Pod)> NextAsync(Func<(WatchEventType Type, V1Pod Pod), bool>? skip = null)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(Patience);
            while (true)
            {
                var e = await Events.Reader.ReadAsync(timeout.Token);
                if (skip is null || !skip(e))
                {
                    return e;
                }
            }
        }

        /// <summary>True when the stream ended (the client's enumeration finished) within the patience.</summary>
        public async Task<bool> EndedAsync()
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(Patience);
            try
            {
                while (await Events.Reader.WaitToReadAsync(timeout.Token))
                {
                    Events.Reader.TryRead(out _);
                }

                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _pump;
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }
    }

    private static async Task WaitForWatchersAsync(KubeApi api, int count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (api.Emulator.WatchCount < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Ct);
        }

        api.Emulator.WatchCount.Should().BeGreaterThanOrEqualTo(count);
    }

    [Fact]
    public async Task Watch_PodLifecycle_SeesAddedModifiedDeleted()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var rv = (await api.Client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: Ct)).Metadata.ResourceVersion;
        await using var watch = new PodWatch(api, rv);
        await WaitForWatchersAsync(api, 1);

        await api.Client.CoreV1.CreateNamespacedPodAsync(KubernetesApiEmulatorTests.NewPod("w", api.NodeName(0)), "default", cancellationToken: Ct);
        await api.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"x":"1"}}}""", V1Patch.PatchType.MergePatch), "w", "default", cancellationToken: Ct);
        await api.Client.CoreV1.DeleteNamespacedPodAsync("w", "default", cancellationToken: Ct);

        var added = await watch.NextAsync();
        var modified = await watch.NextAsync();
        var deleted = await watch.NextAsync();
        added.Type.Should().Be(WatchEventType.Added);
        modified.Type.Should().Be(WatchEventType.Modified);
        modified.Pod.Metadata.Labels.Should().Contain("x", "1");
        deleted.Type.Should().Be(WatchEventType.Deleted);
        deleted.Pod.Metadata.Name.Should().Be("w");
        long.Parse(deleted.Pod.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeGreaterThan(long.Parse(modified.Pod.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Watch_FromEarlierResourceVersion_ReplaysTheHistoryInOrder()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var rv = api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        api.Emulator.PutPod("default", "a", api.NodeName(0));
        api.Emulator.PutPod("default", "a", api.NodeName(0), IPAddress.Parse("10.0.0.9"));
        api.Emulator.DeletePod("default", "a");

        await using var watch = new PodWatch(api, rv);

        (await watch.NextAsync()).Type.Should().Be(WatchEventType.Added);
        var modified = await watch.NextAsync();
        modified.Type.Should().Be(WatchEventType.Modified);
        modified.Pod.Status.PodIP.Should().Be("10.0.0.9");
        (await watch.NextAsync()).Type.Should().Be(WatchEventType.Deleted);
    }

    [Fact]
    public async Task Watch_WithoutResourceVersion_StartsWithCurrentObjectsAsAdded()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        api.Emulator.PutPod("default", "a", api.NodeName(0));
        api.Emulator.PutPod("default", "b", api.NodeName(0));

        await using var watch = new PodWatch(api);

        var first = await watch.NextAsync();
        var second = await watch.NextAsync();
        new[] { first, second }.Should().OnlyContain(e => e.Type == WatchEventType.Added);
        new[] { first.Pod.Metadata.Name, second.Pod.Metadata.Name }.Should().BeEquivalentTo("a", "b");
    }

    [Fact]
    public async Task Watch_FromCompactedResourceVersion_GetsErrorWith410Expired()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var old = api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        api.Emulator.PutPod("default", "a", api.NodeName(0));
        using (var response = await api.Http.PostAsync("emulator/kube/compact", null, Ct))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await using var watch = new PodWatch(api, old);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Patience);
        var error = await watch.Errors.Reader.ReadAsync(timeout.Token);
        var status = error.Should().BeOfType<KubernetesException>().Which.Status;
        status.Code.Should().Be(410);
        status.Reason.Should().Be("Expired");
    }

    [Fact]
    public async Task Watch_HistoryLimitExceeded_OldVersionExpires()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1, configure: o => o.HistoryLimit = 3);
        var old = api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < 5; i++)
        {
            api.Emulator.PutPod("default", $"p{i}", api.NodeName(0));
        }

        var recent = (api.Emulator.ResourceVersion - 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var expired = new PodWatch(api, old);
        await using var fine = new PodWatch(api, recent);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Patience);
        (await expired.Errors.Reader.ReadAsync(timeout.Token)).Should().BeOfType<KubernetesException>().Which.Status.Code.Should().Be(410);
        (await fine.NextAsync()).Pod.Metadata.Name.Should().Be("p3");
        (await fine.NextAsync()).Pod.Metadata.Name.Should().Be("p4");
    }

    [Fact]
    public async Task Watch_AllowBookmarks_PeriodicBookmarkCarriesTheLatestVersion()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1, configure: o => o.BookmarkInterval = TimeSpan.FromMilliseconds(100));
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), bookmarks: true);
        await WaitForWatchersAsync(api, 1);
        api.Emulator.PutPod("default", "a", api.NodeName(0));

        var added = await watch.NextAsync();
        var bookmark = await watch.NextAsync();

        added.Type.Should().Be(WatchEventType.Added);
        bookmark.Type.Should().Be(WatchEventType.Bookmark);
        bookmark.Pod.Metadata.ResourceVersion.Should().Be(added.Pod.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Watch_WithoutBookmarks_GetsNone()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1, configure: o => o.BookmarkInterval = TimeSpan.FromMilliseconds(50));
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForWatchersAsync(api, 1);
        await Task.Delay(300, Ct);
        api.Emulator.PutPod("default", "a", api.NodeName(0));

        (await watch.NextAsync()).Type.Should().Be(WatchEventType.Added);
    }

    [Fact]
    public async Task Watch_FieldSelector_ObjectLeavingTheSelectorIsDeleted()
    {
        await using var api = await KubeApi.StartAsync(nodes: 2);
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            fieldSelector: $"spec.nodeName={api.NodeName(0)}");
        await WaitForWatchersAsync(api, 1);

        api.Emulator.PutPod("default", "elsewhere", api.NodeName(1));
        api.Emulator.PutPod("default", "here", api.NodeName(0));
        api.Emulator.PutPod("default", "here", api.NodeName(1));

        var first = await watch.NextAsync();
        var second = await watch.NextAsync();
        first.Should().Match<(WatchEventType Type, V1Pod Pod)>(e => e.Type == WatchEventType.Added && e.Pod.Metadata.Name == "here");
        second.Should().Match<(WatchEventType Type, V1Pod Pod)>(e => e.Type == WatchEventType.Deleted && e.Pod.Metadata.Name == "here");
    }

    [Fact]
    public async Task Watch_LabelSelector_OnlyMatchingPods()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), labelSelector: "app in (a,b)");
        await WaitForWatchersAsync(api, 1);

        api.Emulator.PutPod("default", "c", api.NodeName(0), labels: new Dictionary<string, string> { ["app"] = "c" });
        api.Emulator.PutPod("default", "b", api.NodeName(0), labels: new Dictionary<string, string> { ["app"] = "b" });

        (await watch.NextAsync()).Pod.Metadata.Name.Should().Be("b");
    }

    [Fact]
    public async Task CutWatches_OpenStreamEnds_AndANewWatchWorks()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForWatchersAsync(api, 1);

        using (var response = await api.Http.PostAsync("emulator/kube/cut-watches", null, Ct))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await watch.EndedAsync()).Should().BeTrue();
        api.Emulator.WatchCount.Should().Be(0);
        await using var again = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForWatchersAsync(api, 1);
        api.Emulator.PutPod("default", "a", api.NodeName(0));
        (await again.NextAsync()).Type.Should().Be(WatchEventType.Added);
    }

    [Fact]
    public async Task Down_CutsOpenWatches_AndRefusesNewOnes()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        await using var watch = new PodWatch(api, api.Emulator.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForWatchersAsync(api, 1);

        api.Emulator.Available = false;

        (await watch.EndedAsync()).Should().BeTrue();
        var refused = async () => await api.Client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(watch: true, cancellationToken: Ct);
        (await refused.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Watch_TimeoutSeconds_ServerEndsTheStream()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        using var response = await api.Http.GetAsync("api/v1/pods?watch=1&timeoutSeconds=1", HttpCompletionOption.ResponseHeadersRead, Ct);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Patience);

        var body = await response.Content.ReadAsStringAsync(timeout.Token);

        body.Should().BeEmpty("no pods exist and the stream ends after timeoutSeconds");
    }
}
