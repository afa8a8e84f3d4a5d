using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class KubernetesPodReporterTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _stop = new();
    private ScriptedKubeServer _server = null!;
    private KubernetesConnection _connection = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ScriptedKubeServer.StartAsync();
        _connection = KubernetesConnection.Create(Settings(annotate: true), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _connection.Dispose();
        await _server.DisposeAsync();
        _stop.Dispose();
    }

    private KubernetesApiSettings Settings(bool annotate, string? ownPod = null) =>
        new KubernetesApiSettings { NodeName = "node-1", AnnotatePodIp = annotate, PodName = ownPod }.WithServer(_server.BaseAddress);

    private Task<KubernetesPodReporter> ReporterAsync(bool annotate, params PodInfo[] pods) => ReporterAsync(annotate, null, pods);

    private async Task<KubernetesPodReporter> ReporterAsync(bool annotate, string? ownPod, params PodInfo[] pods)
    {
        var informer = new Informer<PodInfo>(new FakeListWatch<PodInfo>(p => p.Key, pods), new InformerTiming(), TimeProvider.System, NullLogger.Instance);
        _ = informer.RunAsync(_stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(5));
        var reporter = new KubernetesPodReporter(_connection, Settings(annotate, ownPod), informer, _time, NullLogger.Instance);
        _ = reporter.RunAsync(_stop.Token);
        return reporter;
    }

    [Fact]
    public void MergePatch_Address_SetsOnlyThePodIpsAnnotation() =>
        PodIpAnnotation.MergePatch("10.0.0.5").Should().Be("""{"metadata":{"annotations":{"vpc.amazonaws.com/pod-ips":"10.0.0.5"}}}""");

    [Fact]
    public async Task OnAssigned_AnnotatePodIp_PatchesThePodWithAMergePatch()
    {
        var reporter = await ReporterAsync(annotate: true);

        reporter.OnAssigned("team-a", "web-0", "10.0.0.5");

        await InformerTests.WaitUntilAsync(() => _server.RequestsTo("/api/v1/namespaces/team-a/pods/web-0", "PATCH").Count == 1, "the patch");
        var patch = _server.RequestsTo("/api/v1/namespaces/team-a/pods/web-0", "PATCH")[0];
        patch.ContentType.Should().StartWith("application/merge-patch+json");
        patch.Body.Should().Be("""{"metadata":{"annotations":{"vpc.amazonaws.com/pod-ips":"10.0.0.5"}}}""");
    }

    [Fact]
    public async Task OnAssigned_AnnotationOff_WritesNothing()
    {
        var reporter = await ReporterAsync(annotate: false);

        reporter.OnAssigned("team-a", "web-0", "10.0.0.5");

        reporter.Pending.Should().Be(0);
        _server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task OnReleased_AnnotationStillNamesTheAddress_ClearsIt()
    {
        var reporter = await ReporterAsync(annotate: true, new PodInfo("team-a", "web-0", "uid", "node-1", "Running", "10.0.0.5"));

        reporter.OnReleased("team-a", "web-0", "10.0.0.5");

        await InformerTests.WaitUntilAsync(() => _server.RequestsTo("/api/v1/namespaces/team-a/pods/web-0", "PATCH").Count == 1, "the patch");
        _server.RequestsTo("/api/v1/namespaces/team-a/pods/web-0", "PATCH")[0].Body.Should().Be("""{"metadata":{"annotations":{"vpc.amazonaws.com/pod-ips":""}}}""");
    }

    [Fact]
    public async Task OnReleased_AnnotationNamesAnotherAddress_LeavesIt()
    {
        var reporter = await ReporterAsync(annotate: true, new PodInfo("team-a", "web-0", "uid", "node-1", "Running", "10.0.0.9"));

        reporter.OnReleased("team-a", "web-0", "10.0.0.5");

        reporter.Pending.Should().Be(0, "upstream: released IP does not match existing annotation, not patching");
    }

    [Fact]
    public async Task OnAssignFailed_SamePodAndCauseRepeated_OneEventPerInterval()
    {
        var reporter = await ReporterAsync(annotate: false, new PodInfo("team-a", "web-0", "uid-web-0", "node-1", "Pending", null));
        const string events = "/api/v1/namespaces/team-a/events";

        reporter.OnAssignFailed("team-a", "web-0", AssignFailureReason.SubnetFull, "subnet-1 has no free address");
        reporter.OnAssignFailed("team-a", "web-0", AssignFailureReason.SubnetFull, "subnet-1 has no free address");
        reporter.OnAssignFailed("team-a", "web-0", AssignFailureReason.MaxPodsReached, "max pods 29");
        await InformerTests.WaitUntilAsync(() => _server.RequestsTo(events, "POST").Count == 2, "two events");
        _time.Advance(TimeSpan.FromSeconds(61));
        reporter.OnAssignFailed("team-a", "web-0", AssignFailureReason.SubnetFull, "subnet-1 has no free address");

        await InformerTests.WaitUntilAsync(() => _server.RequestsTo(events, "POST").Count == 3, "the event after the interval");
        using var first = JsonDocument.Parse(_server.RequestsTo(events, "POST")[0].Body);
        var e = first.RootElement;
        e.GetProperty("reason").GetString().Should().Be(KubernetesPodReporter.FailedReason);
        e.GetProperty("type").GetString().Should().Be("Warning");
        e.GetProperty("message").GetString().Should().Contain("SubnetFull").And.Contain("subnet-1 has no free address");
        e.GetProperty("involvedObject").GetProperty("kind").GetString().Should().Be("Pod");
        e.GetProperty("involvedObject").GetProperty("uid").GetString().Should().Be("uid-web-0");
        e.GetProperty("reportingComponent").GetString().Should().Be("aws-node");
        e.GetProperty("reportingInstance").GetString().Should().Be("node-1");
    }

    [Fact]
    public async Task OnAssignDelayed_SlowAdd_WarningEventNamesTheAddressTheWaitAndWhy()
    {
        var reporter = await ReporterAsync(annotate: false, new PodInfo("team-a", "web-1", "uid-web-1", "node-1", "Pending", null));
        const string events = "/api/v1/namespaces/team-a/events";

        reporter.OnAssignDelayed("team-a", "web-1", "10.0.4.7", TimeSpan.FromSeconds(7.4), "waited for the pool to grow; a growth failed meanwhile (Throttled: RequestLimitExceeded)");
        reporter.OnAssignDelayed("team-a", "web-1", "10.0.4.7", TimeSpan.FromSeconds(8), "again");

        await InformerTests.WaitUntilAsync(() => _server.RequestsTo(events, "POST").Count == 1, "one event");
        using var doc = JsonDocument.Parse(_server.RequestsTo(events, "POST")[0].Body);
        doc.RootElement.GetProperty("reason").GetString().Should().Be(KubernetesPodReporter.DelayedReason);
        doc.RootElement.GetProperty("message").GetString().Should().Be(
            "vpc-cni-ipamd assigned 10.0.4.7 after 7.4 s: waited for the pool to grow; a growth failed meanwhile (Throttled: RequestLimitExceeded)");
        doc.RootElement.GetProperty("involvedObject").GetProperty("uid").GetString().Should().Be("uid-web-1");
    }

    [Fact]
    public async Task OnAssignFailed_MyPodNameSet_IsTheReportingInstanceAndTheNodeStaysTheSourceHost()
    {
        var reporter = await ReporterAsync(annotate: false, "aws-node-x7k2p", new PodInfo("team-a", "web-2", "uid-web-2", "node-1", "Pending", null));
        const string events = "/api/v1/namespaces/team-a/events";

        reporter.OnAssignFailed("team-a", "web-2", AssignFailureReason.SubnetFull, "subnet-1 has no free address");

        await InformerTests.WaitUntilAsync(() => _server.RequestsTo(events, "POST").Count == 1, "the event");
        using var doc = JsonDocument.Parse(_server.RequestsTo(events, "POST")[0].Body);
        doc.RootElement.GetProperty("reportingInstance").GetString().Should().Be("aws-node-x7k2p");
        doc.RootElement.GetProperty("source").GetProperty("host").GetString().Should().Be("node-1");
        doc.RootElement.GetProperty("source").GetProperty("component").GetString().Should().Be("aws-node");
    }

    [Fact]
    public void KubernetesApiSettings_FromEnvironment_ReadsMyPodName() =>
        KubernetesApiSettings.FromEnvironment(VpcCni.Configuration.EnvironmentReader.From(new Dictionary<string, string> { ["MY_POD_NAME"] = "aws-node-abcde" }), "/nonexistent")
            .PodName.Should().Be("aws-node-abcde");

    [Fact]
    public void EventRateLimiter_IntervalAndDistinctKeys()
    {
        var limiter = new EventRateLimiter(TimeSpan.FromMinutes(1), _time);

        limiter.TryAcquire("ns", "a", "SubnetFull").Should().BeTrue();
        limiter.TryAcquire("ns", "a", "SubnetFull").Should().BeFalse();
        limiter.TryAcquire("ns", "b", "SubnetFull").Should().BeTrue("another pod");
        limiter.TryAcquire("ns", "a", "NoRoom").Should().BeTrue("another cause");
        _time.Advance(TimeSpan.FromMinutes(1));
        limiter.TryAcquire("ns", "a", "SubnetFull").Should().BeTrue();
    }
}
