using k8s;
using Microsoft.Extensions.Logging;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The daemon's Kubernetes side: informers on its Node (the kubelet's pod capacity becomes the pool's max pods) and on
/// the pods bound to it (restore evidence, the annotation's current value, event UIDs), and the reporter that writes
/// annotations and events. As an <see cref="IIpamStartStep"/> it waits, bounded by
/// <see cref="KubernetesApiSettings.InitialSyncTimeout"/>, for the first lists, so that the restore can use them; if
/// the API does not answer in time the engine starts without it and the restore keeps the conservative rule.
/// </summary>
internal sealed partial class KubernetesNodeAgent : IIpamStartStep, IAsyncDisposable
{
    private readonly KubernetesApiSettings _settings;
    private readonly Func<PoolController> _controller;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IDisposable? _connection;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private Task[]? _loops;
    private int? _appliedMaxPods;
    private int _disposed;

    public KubernetesNodeAgent(
        KubernetesApiSettings settings,
        IListWatchSource<PodInfo> pods,
        IListWatchSource<NodeInfo> node,
        IKubernetes client,
        IPodLivenessEvidence? fallbackEvidence,
        Func<PoolController> controller,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        InformerTiming? timing = null,
        IDisposable? connection = null)
    {
        _settings = settings;
        _controller = controller;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("VpcCni.Kubernetes");
        _connection = connection;
        timing ??= new InformerTiming { Resync = settings.ResyncPeriod };
        Pods = new Informer<PodInfo>(pods, timing, timeProvider, _logger);
        Node = new Informer<NodeInfo>(node, timing, timeProvider, _logger) { Changed = OnNodeChanged };
        Evidence = new KubernetesPodEvidence(Pods, fallbackEvidence);
        Reporter = new KubernetesPodReporter(client, settings, Pods, timeProvider, _logger);
    }

    public Informer<PodInfo> Pods { get; }

    public Informer<NodeInfo> Node { get; }

    public IPodLivenessEvidence Evidence { get; }

    public KubernetesPodReporter Reporter { get; }

    /// <summary>The agent on a real API server: the connection and the list/watch sources the settings describe.</summary>
    public static KubernetesNodeAgent Create(KubernetesApiSettings settings, IPodLivenessEvidence? fallbackEvidence, Func<PoolController> controller, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var connection = KubernetesConnection.Create(settings, timeProvider);
        var node = settings.NodeName!;
        return new KubernetesNodeAgent(settings, new NodePodsListWatch(connection, node), new OwnNodeListWatch(connection, node), connection.Client,
            fallbackEvidence, controller, timeProvider, loggerFactory, connection: connection);
    }

    /// <summary>Starts the informers and the reporter (once; later calls do nothing).</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_loops is not null)
            {
                return;
            }

            LogStarting(_logger, _settings, _settings.NodeName, _settings.AnnotatePodIp);
            var token = _stopping.Token;
            _loops =
            [
                Task.Run(() => Node.RunAsync(token), CancellationToken.None),
                Task.Run(() => Pods.RunAsync(token), CancellationToken.None),
                Task.Run(() => Reporter.RunAsync(token), CancellationToken.None),
            ];
        }
    }

    public async Task BeforeInitializeAsync(CancellationToken cancellationToken)
    {
        Start();
        try
        {
            await Task.WhenAll(Pods.Synced, Node.Synced).WaitAsync(_settings.InitialSyncTimeout, _time, cancellationToken).ConfigureAwait(false);
            LogSynced(_logger, Pods.Count, _appliedMaxPods);
        }
        catch (TimeoutException)
        {
            LogNotSynced(_logger, _settings.InitialSyncTimeout.TotalSeconds, Pods.HasSynced, Node.HasSynced);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: the container disposes the agent once per registration that hands it out (itself, the start step).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[]? loops;
        lock (_lock)
        {
            loops = _loops;
        }

        if (loops is not null)
        {
            await Task.WhenAll(loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _connection?.Dispose();
        _stopping.Dispose();
    }

    private void OnNodeChanged(Informer<NodeInfo> node)
    {
        var items = node.Items;
        var maxPods = items.Count > 0 ? items[0].MaxPods : null;
        if (maxPods is null || maxPods == _appliedMaxPods)
        {
            // A node without a pod capacity (or gone) keeps the last value: nothing better is known.
            return;
        }

        _controller().SetMaxPodsOverride(maxPods);
        LogMaxPods(_logger, maxPods.Value, _appliedMaxPods);
        _appliedMaxPods = maxPods;
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Kubernetes API: {Source}; watching node {Node} and its pods (ANNOTATE_POD_IP {Annotate})")]
    private static partial void LogStarting(ILogger logger, KubernetesApiSettings source, string? node, bool annotate);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Kubernetes lists synced: {Pods} pods on this node, node pod capacity {MaxPods} (null: not advertised)")]
    private static partial void LogSynced(ILogger logger, int pods, int? maxPods);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Warning, Message = "Kubernetes lists not synced within {Seconds} s (pods {PodsSynced}, node {NodeSynced}): restoring with the host's evidence only (conservative), max pods from the instance type until the node is read")]
    private static partial void LogNotSynced(ILogger logger, double seconds, bool podsSynced, bool nodeSynced);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Information, Message = "max pods {MaxPods} from the node's pod capacity (before: {Previous}, null meaning the instance type's value)")]
    private static partial void LogMaxPods(ILogger logger, int maxPods, int? previous);
}
