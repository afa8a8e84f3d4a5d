using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// What the daemon writes to the API about pods: upstream's ANNOTATE_POD_IP annotation (set on ADD, cleared on DEL when
/// it still holds the released address) and a Warning event on a pod whose ADD failed, naming the cause, rate-limited
/// per pod and cause. Writes are queued and sent by one background loop, so an ADD never waits for the API server;
/// a write that fails is retried twice, then logged and dropped (unlike upstream, a failed annotation does not fail
/// the ADD: the address is the pod's either way).
/// </summary>
internal sealed partial class KubernetesPodReporter
{
    /// <summary>The event reason of a failed ADD.</summary>
    public const string FailedReason = "FailedAssignIP";

    /// <summary>The event reason of an ADD that got its address only after waiting for the pool.</summary>
    public const string DelayedReason = "AssignIPDelayed";

    /// <summary>Upstream's event source component (the aws-node DaemonSet).</summary>
    public const string Component = "aws-node";

    private const int Attempts = 3;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly KubernetesConnection _connection;
    private readonly KubernetesApiSettings _settings;
    private readonly Informer<PodInfo>? _pods;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EventRateLimiter _limiter;
    private readonly Channel<Func<CancellationToken, Task>> _queue =
        Channel.CreateBounded<Func<CancellationToken, Task>>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public KubernetesPodReporter(KubernetesConnection connection, KubernetesApiSettings settings, Informer<PodInfo>? pods, TimeProvider timeProvider, ILogger logger)
    {
        _connection = connection;
        _settings = settings;
        _pods = pods;
        _time = timeProvider;
        _logger = logger;
        _limiter = new EventRateLimiter(settings.EventInterval, timeProvider);
    }

    /// <summary>Writes waiting to be sent (tests, diagnostics).</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>An ADD succeeded (called by the node as it answers; returns at once).</summary>
    public void OnAssigned(string podNamespace, string podName, string address)
    {
        if (_settings.AnnotatePodIp && IsPod(podNamespace, podName))
        {
            Enqueue(ct => PatchAnnotationAsync(podNamespace, podName, address, ct));
        }
    }

    /// <summary>A DEL released <paramref name="address"/>.</summary>
    public void OnReleased(string podNamespace, string podName, string address)
    {
        if (!_settings.AnnotatePodIp || !IsPod(podNamespace, podName))
        {
            return;
        }

        // Upstream clears the annotation only when it still names the released address (a new sandbox of the same pod
        // may already have written its own). A pod the cache no longer has is gone with its annotation.
        if (_pods is null || !_pods.TryGet(podNamespace + "/" + podName, out var pod))
        {
            return;
        }

        if (pod.PodIpsAnnotation != address)
        {
            LogAnnotationMismatch(_logger, address, podNamespace, podName, pod.PodIpsAnnotation ?? "");
            return;
        }

        Enqueue(ct => PatchAnnotationAsync(podNamespace, podName, "", ct));
    }

    /// <summary>An ADD failed with <paramref name="reason"/>.</summary>
    public void OnAssignFailed(string podNamespace, string podName, AssignFailureReason reason, string detail)
    {
        if (!IsPod(podNamespace, podName) || !_limiter.TryAcquire(podNamespace, podName, reason.ToString()))
        {
            return;
        }

        var uid = _pods is not null && _pods.TryGet(podNamespace + "/" + podName, out var pod) ? pod.Uid : null;
        var body = BuildFailureEvent(podNamespace, podName, uid, reason, detail, _settings.NodeName ?? "", _time.GetUtcNow(), _settings.PodName);
        Enqueue(ct => _connection.CreateEventAsync(podNamespace, body, ct));
    }

    /// <summary>An ADD got <paramref name="address"/> only after waiting <paramref name="waited"/> for the pool (why: <paramref name="cause"/>).</summary>
    public void OnAssignDelayed(string podNamespace, string podName, string address, TimeSpan waited, string cause)
    {
        if (!IsPod(podNamespace, podName) || !_limiter.TryAcquire(podNamespace, podName, DelayedReason))
        {
            return;
        }

        var uid = _pods is not null && _pods.TryGet(podNamespace + "/" + podName, out var pod) ? pod.Uid : null;
        var message = string.Create(CultureInfo.InvariantCulture, $"vpc-cni-ipamd assigned {address} after {waited.TotalSeconds:0.#} s: {cause}");
        var body = BuildEvent(podNamespace, podName, uid, DelayedReason, message, _settings.NodeName ?? "", _time.GetUtcNow(), _settings.PodName);
        Enqueue(ct => _connection.CreateEventAsync(podNamespace, body, ct));
    }

    /// <summary>Sends queued writes until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var write in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await SendAsync(write, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A core/v1 Event on the pod, as a kubelet-style Warning: reason <see cref="FailedReason"/>, the cause first in the message.</summary>
    internal static WireEvent BuildFailureEvent(string podNamespace, string podName, string? uid, AssignFailureReason reason, string detail, string nodeName, DateTimeOffset now, string? reportingInstance = null) =>
        BuildEvent(podNamespace, podName, uid, FailedReason, $"vpc-cni-ipamd could not assign an IP address ({reason}): {detail}", nodeName, now, reportingInstance);

    private static WireEvent BuildEvent(string podNamespace, string podName, string? uid, string reason, string message, string nodeName, DateTimeOffset now, string? reportingInstance) => new(
        // client-go's naming: the object's name and a unique hex suffix.
        Metadata: new WireObjectMeta(podName + "." + now.UtcTicks.ToString("x", CultureInfo.InvariantCulture), podNamespace),
        InvolvedObject: new WireObjectReference("v1", "Pod", podName, podNamespace, uid),
        Reason: reason,
        Message: message,
        Type: "Warning",
        Count: 1,
        FirstTimestamp: now,
        LastTimestamp: now,
        Source: new WireEventSource(Component, nodeName),
        ReportingComponent: Component,
        // MY_POD_NAME names the aws-node instance that reported (upstream's events come from that pod); source.host stays the node.
        ReportingInstance: string.IsNullOrEmpty(reportingInstance) ? nodeName : reportingInstance);

    private Task PatchAnnotationAsync(string podNamespace, string podName, string value, CancellationToken cancellationToken) =>
        _connection.MergePatchPodAsync(podNamespace, podName, PodIpAnnotation.MergePatch(value), cancellationToken);

    private async Task SendAsync(Func<CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var status = KubernetesConnection.StatusOf(ex);
                if (attempt >= Attempts || status is 404 or 403 or 422)
                {
                    LogWriteDropped(_logger, attempt, status ?? 0, ex.Message);
                    return;
                }

                await Task.Delay(RetryDelay * attempt, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Enqueue(Func<CancellationToken, Task> write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            LogQueueClosed(_logger);
        }
    }

    private static bool IsPod(string podNamespace, string podName) => !string.IsNullOrEmpty(podNamespace) && !string.IsNullOrEmpty(podName);

    [LoggerMessage(EventId = 4120, Level = LogLevel.Warning, Message = "Kubernetes write dropped after {Attempts} attempt(s) (status {Status}): {Reason}")]
    private static partial void LogWriteDropped(ILogger logger, int attempts, int status, string reason);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Information, Message = "released IP {Address} does not match existing annotation. Not patching pod {Namespace}/{Name} (annotation \"{Annotation}\")")]
    private static partial void LogAnnotationMismatch(ILogger logger, string address, string @namespace, string name, string annotation);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Warning, Message = "Kubernetes write queue closed; write not sent")]
    private static partial void LogQueueClosed(ILogger logger);
}
