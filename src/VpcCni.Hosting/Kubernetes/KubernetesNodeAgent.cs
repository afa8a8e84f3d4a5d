using System.Threading.Channels;
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
    private readonly KubernetesConnection? _ownedConnection;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private Task[]? _loops;
    private readonly Func<string, string, CancellationToken, Task>? _writeCniNodeFeature;
    private readonly Channel<bool> _eniConfigChanged = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int? _appliedMaxPods;
    private string? _loggedEniConfig;
    private int _disposed;

    public KubernetesNodeAgent(
        KubernetesApiSettings settings,
        IListWatchSource<PodInfo> pods,
        IListWatchSource<NodeInfo> node,
        KubernetesConnection connection,
        IPodLivenessEvidence? fallbackEvidence,
        Func<PoolController> controller,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        InformerTiming? timing = null,
        bool ownsConnection = false,
        IListWatchSource<EniConfigInfo>? eniConfigs = null,
        Func<string, string, CancellationToken, Task>? writeCniNodeFeature = null)
    {
        _settings = settings;
        _controller = controller;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("VpcCni.Kubernetes");
        _ownedConnection = ownsConnection ? connection : null;
        timing ??= new InformerTiming { Resync = settings.ResyncPeriod };
        Pods = new Informer<PodInfo>(pods, timing, timeProvider, _logger);
        Node = new Informer<NodeInfo>(node, timing, timeProvider, _logger) { Changed = OnNodeChanged };
        if (settings.CustomNetworking)
        {
            ArgumentNullException.ThrowIfNull(eniConfigs);
            EniConfigs = new Informer<EniConfigInfo>(eniConfigs, timing, timeProvider, _logger) { Changed = _ => _eniConfigChanged.Writer.TryWrite(true) };
            EniConfig = new NodeEniConfig(Node, EniConfigs, settings);
            _writeCniNodeFeature = writeCniNodeFeature;
        }

        Evidence = new KubernetesPodEvidence(Pods, fallbackEvidence);
        Reporter = new KubernetesPodReporter(connection, settings, Pods, timeProvider, _logger);
    }

    public Informer<PodInfo> Pods { get; }

    public Informer<NodeInfo> Node { get; }

    public IPodLivenessEvidence Evidence { get; }

    public KubernetesPodReporter Reporter { get; }

    /// <summary>The ENIConfigs (custom networking only).</summary>
    public Informer<EniConfigInfo>? EniConfigs { get; }

    /// <summary>The node's ENIConfig choice (custom networking only).</summary>
    public NodeEniConfig? EniConfig { get; }

    /// <summary>
    /// The agent on a real API server: the list/watch sources the settings describe, over <paramref name="connection"/>
    /// (not owned: shared with the fleet membership, disposed by its owner), or over a connection of its own when null.
    /// </summary>
    public static KubernetesNodeAgent Create(KubernetesApiSettings settings, IPodLivenessEvidence? fallbackEvidence, Func<PoolController> controller, TimeProvider timeProvider, ILoggerFactory loggerFactory,
        KubernetesConnection? connection = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var owns = connection is null;
        connection ??= KubernetesConnection.Create(settings, timeProvider);
        var node = settings.NodeName!;
        return new KubernetesNodeAgent(settings, new NodePodsListWatch(connection, node), new OwnNodeListWatch(connection, node), connection,
            fallbackEvidence, controller, timeProvider, loggerFactory, ownsConnection: owns,
            eniConfigs: settings.CustomNetworking ? new EniConfigsListWatch(connection) : null,
            writeCniNodeFeature: (name, value, ct) => WriteCniNodeFeatureAsync(connection, node, name, value, ct));
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
            List<Task> loops =
            [
                Task.Run(() => Node.RunAsync(token), CancellationToken.None),
                Task.Run(() => Pods.RunAsync(token), CancellationToken.None),
                Task.Run(() => Reporter.RunAsync(token), CancellationToken.None),
            ];
            if (EniConfigs is not null)
            {
                loops.Add(Task.Run(() => EniConfigs.RunAsync(token), CancellationToken.None));
                loops.Add(Task.Run(() => FollowEniConfigAsync(token), CancellationToken.None));
            }

            _loops = [.. loops];
        }
    }

    public async Task BeforeInitializeAsync(CancellationToken cancellationToken)
    {
        Start();
        try
        {
            await Task.WhenAll(EniConfigs is null ? [Pods.Synced, Node.Synced] : [Pods.Synced, Node.Synced, EniConfigs.Synced]).WaitAsync(_settings.InitialSyncTimeout, _time, cancellationToken).ConfigureAwait(false);
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

        _ownedConnection?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Logs each new ENIConfig choice (and why it cannot be used) and writes it to the node's CNINode; a failed write is
    /// retried at the next change or after <see cref="CniNodeRetry"/>.
    /// </summary>
    private async Task FollowEniConfigAsync(CancellationToken cancellationToken)
    {
        string? written = null;
        string? failed = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var retry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                retry.CancelAfter(CniNodeRetry);
                await _eniConfigChanged.Reader.WaitToReadAsync(retry.Token).ConfigureAwait(false);
                _eniConfigChanged.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (EniConfig?.Current is not { } choice)
            {
                continue;
            }

            var summary = choice.Config is null ? "not available" : choice.Config.Problem ?? $"subnets {string.Join(", ", choice.Config.Subnets)}, security groups {(choice.Config.SecurityGroups.Count == 0 ? "of the primary ENI" : string.Join(", ", choice.Config.SecurityGroups))}";
            var line = choice.Name + ": " + summary;
            if (line != _loggedEniConfig)
            {
                if (choice.Config is { Problem: null })
                {
                    LogEniConfig(_logger, choice.Name, choice.Source, summary);
                    // A growth that failed on the old (or missing) ENIConfig retries now, not after its back-off.
                    _controller().NotePlacementChanged();
                }
                else
                {
                    LogEniConfigUnusable(_logger, choice.Name, choice.Source, summary);
                }

                _loggedEniConfig = line;
            }

            if (_writeCniNodeFeature is null || choice.Name == EniConfigSelector.DefaultName || choice.Name == written)
            {
                continue;
            }

            try
            {
                await _writeCniNodeFeature(CniNodeFeatures.FeatureName, choice.Name, cancellationToken).ConfigureAwait(false);
                written = choice.Name;
                failed = null;
                LogCniNodeWritten(_logger, _settings.NodeName, choice.Name);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Once per cause: a CNINode the resource controller has not created yet would otherwise log every 30 s.
                var status = KubernetesConnection.StatusOf(ex) ?? 0;
                if (failed != choice.Name + status)
                {
                    LogCniNodeFailed(_logger, _settings.NodeName, status, ex.Message);
                    failed = choice.Name + status;
                }
            }
        }
    }

    /// <summary>How long a failed CNINode write waits for its retry when nothing changes.</summary>
    internal static TimeSpan CniNodeRetry { get; } = TimeSpan.FromSeconds(30);

    private static async Task WriteCniNodeFeatureAsync(KubernetesConnection connection, string nodeName, string name, string value, CancellationToken cancellationToken)
    {
        var path = CniNodeFeatures.PathOf(nodeName);
        for (var attempt = 1; ; attempt++)
        {
            using var current = await connection.GetJsonAsync(path, "", cancellationToken).ConfigureAwait(false);
            if (CniNodeFeatures.Patch(current.RootElement, name, value) is not { } patch)
            {
                return;
            }

            try
            {
                await connection.MergePatchAsync(path, patch, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (KubernetesApiException e) when (e.StatusCode == 409 && attempt < 3)
            {
                // Someone else wrote the object since the read: read it again.
            }
        }
    }

    private void OnNodeChanged(Informer<NodeInfo> node)
    {
        _eniConfigChanged.Writer.TryWrite(true);
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

    [LoggerMessage(EventId = 4114, Level = LogLevel.Information, Message = "custom networking: ENIConfig {Name} (from {Source}): {Summary}; new ENIs are created there")]
    private static partial void LogEniConfig(ILogger logger, string name, string source, string summary);

    [LoggerMessage(EventId = 4115, Level = LogLevel.Error, Message = "custom networking: ENIConfig {Name} (from {Source}) cannot be used: {Problem}; no ENI is created until it is fixed (pods are served from the ENIs that exist)")]
    private static partial void LogEniConfigUnusable(ILogger logger, string name, string source, string problem);

    [LoggerMessage(EventId = 4116, Level = LogLevel.Information, Message = "CNINode {Node}: feature CustomNetworking={Value} written")]
    private static partial void LogCniNodeWritten(ILogger logger, string? node, string value);

    [LoggerMessage(EventId = 4117, Level = LogLevel.Warning, Message = "CNINode {Node}: feature CustomNetworking not written (status {Status}: {Reason}); retried on the next change or in 30 s")]
    private static partial void LogCniNodeFailed(ILogger logger, string? node, int status, string reason);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Information, Message = "max pods {MaxPods} from the node's pod capacity (before: {Previous}, null meaning the instance type's value)")]
    private static partial void LogMaxPods(ILogger logger, int maxPods, int? previous);
}
