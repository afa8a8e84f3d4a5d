using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam;

/// <summary>
/// The IPAM engine as a hosted service: runs the registered <see cref="IIpamStartStep"/>s, initialises the pool
/// (restore from the durable record, reconcile with the cloud, first sizing), runs the pool loop until the host stops,
/// then compacts the durable record. <see cref="Ready"/> tells callers when assignments are served. Starting or
/// stopping it twice is harmless, so a node agent can drive it directly while a host also holds it.
/// </summary>
public sealed partial class IpamEngine : BackgroundService
{
    /// <summary>How long stopping waits for the pool loop's in-flight cloud work before going on without it.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly IIpamStartStep[] _steps;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _stopped;

    /// <param name="controller">The pool this engine runs.</param>
    /// <param name="steps">Work to finish before the pool initialises, in order.</param>
    public IpamEngine(PoolController controller, IEnumerable<IIpamStartStep>? steps = null, TimeProvider? timeProvider = null, ILogger<IpamEngine>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(controller);
        Controller = controller;
        _steps = steps?.ToArray() ?? [];
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The pool: assign and release addresses through it once <see cref="Ready"/> has completed.</summary>
    public PoolController Controller { get; }

    /// <summary>Completes when the pool serves assignments; faults with the start failure; cancelled if stopped first.</summary>
    public Task Ready => _ready.Task;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken) =>
        Interlocked.Exchange(ref _started, 1) == 0 ? base.StartAsync(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var step in _steps)
            {
                await step.BeforeInitializeAsync(stoppingToken).ConfigureAwait(false);
            }

            await Controller.InitializeAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _ready.TrySetCanceled(stoppingToken);
            return;
        }
        catch (Exception ex)
        {
            _ready.TrySetException(ex);
            throw;
        }

        if (Controller.Store is { } store)
        {
            LogDurable(_logger, store.CheckpointPath);
        }
        else if (Controller.IPv6CheckpointPath is { } ipv6Checkpoint)
        {
            LogDurable(_logger, ipv6Checkpoint);
        }
        else
        {
            LogInMemoryOnly(_logger);
        }

        _ready.TrySetResult();
        await Controller.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>Stops the pool loop (bounded by <see cref="StopGrace"/>) and compacts the durable record.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || Volatile.Read(ref _started) == 0)
        {
            return;
        }

        // Bounded: a cloud call in flight must not hold the node past its termination grace period; every
        // acknowledged allocation is already in the journal, and an ENI left half-made is tagged for the sweep.
        using var grace = new CancellationTokenSource(StopGrace, _time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, grace.Token);
        await base.StopAsync(bounded.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (ExecuteTask is { IsCompleted: false })
        {
            LogLoopStillBusy(_logger, StopGrace.TotalSeconds);
        }

        _ready.TrySetCanceled(CancellationToken.None);
        if (!_ready.Task.IsCompletedSuccessfully)
        {
            // Never initialised: the pool holds nothing restored, so there is nothing to fold and the record on disk
            // must stay exactly as the last run left it.
            return;
        }

        try
        {
            await Controller.CompactRecordAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DurableRecordException or InvalidOperationException)
        {
            // The journal already holds every acknowledged change; a failed compaction only means a longer replay.
            LogCompactionFailed(_logger, ex.Message);
        }
    }

    [LoggerMessage(1100, LogLevel.Information, "IPAM engine ready; allocations are recorded durably in {Path}")]
    private static partial void LogDurable(ILogger logger, string path);

    [LoggerMessage(1101, LogLevel.Warning, "IPAM engine ready without a durable record (no backing store path): allocations are kept in memory only and are lost on restart")]
    private static partial void LogInMemoryOnly(ILogger logger);

    [LoggerMessage(1102, LogLevel.Warning, "the pool loop did not stop within {Seconds} s; stopping without it")]
    private static partial void LogLoopStillBusy(ILogger logger, double seconds);

    [LoggerMessage(1103, LogLevel.Warning, "could not compact the allocation record at shutdown: {Reason}")]
    private static partial void LogCompactionFailed(ILogger logger, string reason);
}
