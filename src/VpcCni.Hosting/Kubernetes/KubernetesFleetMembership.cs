using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// This node's place in the fleet, read from the API server's node list: an informer on every Node (metadata only:
/// name and creation time, listed with resourceVersion=0 from the server's watch cache, then watched) orders the
/// nodes by creation time, then name (ordinal), as every node of the cluster orders them; the position is this node's
/// index in that order and the number of nodes (docs/ec2-budget.md). <see cref="Current"/> is null until the first
/// list and while this node (MY_NODE_NAME) is not in it; while the API is down the last position is kept. A node's
/// updates never move it (its name and creation time do not change), so only a node's arrival or removal, and each
/// relist, recompute the position; readers get it with one volatile read.
/// </summary>
internal sealed partial class KubernetesFleetMembership : IFleetMembership, IAsyncDisposable
{
    private readonly string _nodeName;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private Task? _loop;
    private PublishedPosition? _current;
    private bool _loggedAbsent;
    private int _disposed;

    public KubernetesFleetMembership(string nodeName, IListWatchSource<ClusterNode> nodes, TimeProvider timeProvider, ILoggerFactory loggerFactory, InformerTiming? timing = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _nodeName = nodeName;
        _logger = loggerFactory.CreateLogger("VpcCni.Kubernetes");
        Nodes = new Informer<ClusterNode>(nodes, timing ?? new InformerTiming(), timeProvider, _logger) { Changed = Recompute };
    }

    /// <summary>The cluster's nodes as the informer keeps them (name and creation time each).</summary>
    public Informer<ClusterNode> Nodes { get; }

    /// <inheritdoc />
    public FleetPosition? Current => Volatile.Read(ref _current)?.Position;

    /// <summary>The membership of <paramref name="settings"/>' node (MY_NODE_NAME) over <paramref name="connection"/> (not owned).</summary>
    public static KubernetesFleetMembership Create(KubernetesApiSettings settings, KubernetesConnection connection, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new KubernetesFleetMembership(settings.NodeName!, new ClusterNodesListWatch(connection), timeProvider, loggerFactory,
            new InformerTiming { Resync = settings.ResyncPeriod });
    }

    /// <summary>
    /// This node's place among <paramref name="nodes"/>: how many order before it (<see cref="ClusterNode.Compare"/>) and
    /// how many there are; null when it is not among them. One pass, no sort.
    /// </summary>
    internal static FleetPosition? PositionOf(IReadOnlyList<ClusterNode> nodes, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ClusterNode? self = null;
        foreach (var node in nodes)
        {
            if (string.Equals(node.Name, nodeName, StringComparison.Ordinal))
            {
                self = node;
                break;
            }
        }

        if (self is null)
        {
            return null;
        }

        var rank = 0;
        foreach (var node in nodes)
        {
            if (ClusterNode.Compare(node, self) < 0)
            {
                rank++;
            }
        }

        return new FleetPosition(rank, nodes.Count);
    }

    /// <summary>Starts listing and watching (once; later calls do nothing).</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_loop is not null || _disposed != 0)
            {
                return;
            }

            LogStarting(_logger, _nodeName);
            var token = _stopping.Token;
            _loop = Task.Run(() => Nodes.RunAsync(token), CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits for the first list, at most <paramref name="limit"/>: the node's first EC2 requests should already go on its
    /// slots (in a fleet that starts together they are the wave). False when the list did not come in time (the budget
    /// then starts as a lone node's and takes the schedule up when the list arrives).
    /// </summary>
    public async Task<bool> WaitForFirstListAsync(TimeSpan limit, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        try
        {
            await Nodes.Synced.WaitAsync(limit, timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            LogNotListedYet(_logger, limit.TotalSeconds);
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: the container disposes it once per registration that hands it out (itself and IFleetMembership).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_lock)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stopping.Dispose();
    }

    /// <summary>On the informer's loop, after a list or a node's arrival or removal.</summary>
    private void Recompute(Informer<ClusterNode> nodes)
    {
        var position = PositionOf(nodes.Items, _nodeName);
        if (position is not { } now)
        {
            Volatile.Write(ref _current, null);
            if (!_loggedAbsent)
            {
                _loggedAbsent = true;
                LogAbsent(_logger, _nodeName, nodes.Count);
            }

            return;
        }

        _loggedAbsent = false;
        if (Volatile.Read(ref _current)?.Position == now)
        {
            return;
        }

        Volatile.Write(ref _current, new PublishedPosition(now));
        LogPosition(_logger, _nodeName, now.Rank, now.Size);
    }

    /// <summary>The published position: a reference, so that readers see it whole without a lock.</summary>
    private sealed record PublishedPosition(FleetPosition Position);

    [LoggerMessage(EventId = 4130, Level = LogLevel.Information, Message = "EC2 fleet schedule: watching the cluster's nodes for node {Node}'s place among them (VPC_CNI_EC2_FLEET_SCHEDULE)")]
    private static partial void LogStarting(ILogger logger, string node);

    [LoggerMessage(EventId = 4131, Level = LogLevel.Debug, Message = "EC2 fleet schedule: node {Node} is {Rank} of {Size} nodes (by creation time, then name)")]
    private static partial void LogPosition(ILogger logger, string node, int rank, int size);

    [LoggerMessage(EventId = 4133, Level = LogLevel.Warning, Message = "EC2 fleet schedule: the cluster's nodes were not listed within {Seconds} s; the node starts with a lone node's EC2 budget")]
    private static partial void LogNotListedYet(ILogger logger, double seconds);

    [LoggerMessage(EventId = 4132, Level = LogLevel.Warning, Message = "EC2 fleet schedule: node {Node} is not among the cluster's {Count} nodes; the EC2 budget paces as a lone node until it is")]
    private static partial void LogAbsent(ILogger logger, string node, int count);
}
