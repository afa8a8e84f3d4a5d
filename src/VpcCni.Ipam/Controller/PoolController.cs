using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cloud;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam;

/// <summary>
/// Drives the cloud port for one network card: keeps the datastore's pool at the policy's target, serves ADD/DEL
/// with durable records, and reconciles with the cloud's view.
/// </summary>
/// <remarks>
/// Event-driven: an ADD that leaves the pool low (or finds it empty) wakes the loop at once; the loop also runs
/// every <see cref="IpamOptions.PoolInterval"/> and reconciles against the cloud every
/// <see cref="IpamOptions.ReconcileInterval"/>. At most one mutating cloud operation runs per ENI at a time; growth
/// on distinct ENIs may run concurrently. Continuations run inline (no thread hops), so on a fake clock the whole
/// controller advances deterministically inside <c>FakeTimeProvider.Advance</c> — the planner relies on that.
/// </remarks>
public sealed class PoolController : IDisposable, IPoolGrowth, ICloudRequestPriority
{
    private readonly IEniProvider _cloud;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DurableAllocationStore? _store;
    private readonly IPodLivenessEvidence? _liveness;
    private readonly IEniLifecycleHook? _eniHook;
    private readonly IPoolPolicy _policy;
    private readonly Lock _gate = new();
    private readonly EniLeases _leases = new();
    private readonly SemaphoreSlim _roundGate = new(1, 1);
    private readonly DemandTracker _demand;
    private readonly ErrorBackoff _backoff;
    private readonly AssignWaiters _waiters;
    private readonly TaskCreationOptions _signalOptions;
    private readonly bool _inlineSignals;
    private TaskCompletionSource _wake;
    private TaskCompletionSource _growthWake;
    private IpamOptions _options;
    private Parts? _parts;
    private volatile bool _lastAddFoundNone;
    private PoolLimits? _limits;
    private int _baseMaxPods;
    private int? _maxPodsOverride;
    private PoolDecision _lastDecision = PoolDecision.None;
    private int _peakAssigned;
    private volatile bool _loopRunning;
    private IPv6AddressStore? _ipv6;
    private readonly SemaphoreSlim _ipv6Record = new(1, 1);

    /// <param name="cloud">The cloud port.</param>
    /// <param name="options">Validated options (see <see cref="IpamOptionsValidator"/>).</param>
    /// <param name="timeProvider">Clock for every wait and timestamp.</param>
    /// <param name="store">Durable record; null keeps allocations in memory only (planner, simulator).</param>
    /// <param name="liveness">Evidence that restored pods are gone; null means "never positively gone".</param>
    /// <param name="networkCard">The card this controller manages.</param>
    /// <param name="eniHook">Host networking that must follow the pool's ENIs; null for none.</param>
    /// <param name="policy">The pool policy; null picks the one <see cref="IpamOptions.PoolPolicy"/> names.</param>
    public PoolController(
        IEniProvider cloud,
        IpamOptions options,
        TimeProvider timeProvider,
        DurableAllocationStore? store = null,
        IPodLivenessEvidence? liveness = null,
        ILogger<PoolController>? logger = null,
        int networkCard = 0,
        IEniLifecycleHook? eniHook = null,
        IPoolPolicy? policy = null)
        : this(cloud, options, timeProvider, store, liveness, logger, networkCard, inlineSignals: false, eniHook, policy)
    {
    }

    /// <param name="inlineSignals">Run woken waiters and the pool loop inline on the signalling thread: deterministic on a
    /// fake clock (planner, simulator); production uses asynchronous continuations so an ADD never runs a pool round.</param>
    internal PoolController(
        IEniProvider cloud,
        IpamOptions options,
        TimeProvider timeProvider,
        DurableAllocationStore? store,
        IPodLivenessEvidence? liveness,
        ILogger<PoolController>? logger,
        int networkCard,
        bool inlineSignals,
        IEniLifecycleHook? eniHook = null,
        IPoolPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var validation = new IpamOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }

        _cloud = cloud;
        _options = options;
        _time = timeProvider;
        _store = store;
        _liveness = liveness;
        _eniHook = eniHook;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        NetworkCard = networkCard;
        _policy = policy ?? options.PoolPolicy switch
        {
            PoolPolicyKind.DemandAware => DemandAwarePoolPolicy.Instance,
            PoolPolicyKind.Burst => BurstPoolPolicy.Instance,
            _ => UpstreamPoolPolicy.Instance,
        };
        _demand = new DemandTracker(timeProvider, options.DemandWindow);
        _backoff = new ErrorBackoff(timeProvider);
        _inlineSignals = inlineSignals;
        _signalOptions = inlineSignals ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
        _waiters = new AssignWaiters(timeProvider, inlineSignals);
        _wake = new TaskCompletionSource(_signalOptions);
        _growthWake = new TaskCompletionSource(_signalOptions);
    }

    public int NetworkCard { get; }

    /// <summary>The datastore (after <see cref="InitializeAsync"/>).</summary>
    public PoolDatastore Datastore => Initialized.Datastore;

    /// <summary>The IPv6 address store when ENABLE_IPv6 (null in IPv4 mode, and before <see cref="InitializeAsync"/>).</summary>
    public IPv6AddressStore? IPv6 => _ipv6;

    /// <summary>The VPC's IPv6 CIDR blocks read at the IPv6 start (AddNetwork's VPCv6CIDRs); empty in IPv4 mode.</summary>
    public IReadOnlyList<IPNetwork> IPv6VpcCidrs { get; private set; } = [];

    /// <summary>The primary ENI's first IPv6 address as EC2 lists it (IMDS <c>ipv6</c>), when it has one; IPv6 mode only.</summary>
    public IPAddress? IPv6NodeAddress { get; private set; }

    /// <summary>
    /// The cloud's IPv6 calls (ENABLE_IPv6); the cloud port itself when it implements them. Set it when the port given
    /// to the constructor is a decorator that does not.
    /// </summary>
    public IIPv6PrefixProvider? IPv6Cloud { get; init; }

    /// <summary>The limits in force (after <see cref="InitializeAsync"/>).</summary>
    public PoolLimits Limits
    {
        get
        {
            var limits = _limits ?? throw new InvalidOperationException("call InitializeAsync first.");
            // The last reconcile counted the ENIs that are not ours: they use up ENI slots.
            var unmanaged = _parts?.Reconciler.UnmanagedEnis ?? 0;
            return limits.UnmanagedEnis == unmanaged ? limits : limits with { UnmanagedEnis = unmanaged };
        }
    }

    /// <summary>
    /// Max pods from outside the engine, e.g. the kubelet's pod capacity that a node agent reads from its Node object
    /// (upstream refreshes maxPods from it). It wins over <see cref="IpamOptions.MaxPods"/> and the instance type's
    /// value, because it is the number of pods the node will really run; null returns to those. Set before
    /// <see cref="InitializeAsync"/> it applies from the start; later, from the next pool decision (the loop is woken).
    /// </summary>
    public void SetMaxPodsOverride(int? maxPods)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPods ?? 1, 1, nameof(maxPods));
        lock (_gate)
        {
            _maxPodsOverride = maxPods;
            if (_limits is { } limits)
            {
                _limits = limits with { MaxPods = maxPods ?? _baseMaxPods };
            }
        }

        Wake();
    }

    /// <summary>
    /// The configuration new ENIs are created with changed (a host that places ENIs, e.g. by the node's ENIConfig, calls
    /// it when that changes): a growth back-off caused by the old configuration (subnet full, a missing subnet) ends now
    /// instead of after its 120 s, and the pool decides again at once.
    /// </summary>
    public void NotePlacementChanged()
    {
        _backoff.Reset();
        Wake();
    }

    /// <summary>The options in force (PD is switched off on types that cannot do it, as upstream).</summary>
    public IpamOptions Options => _options;

    /// <summary>The durable record, or null when allocations are kept in memory only.</summary>
    internal DurableAllocationStore? Store => _store;

    /// <summary>IPv6 mode: the checkpoint rewritten on every assign and release (null without a backing store).</summary>
    internal string? IPv6CheckpointPath => _ipv6 is null ? null : _options.BackingStorePath;

    /// <summary>ADDs currently waiting for the pool to grow.</summary>
    public int WaitingAssignments => _waiters.Count;

    /// <summary>Mutating cloud calls made (create, assign, unassign, delete).</summary>
    public long CloudMutations => _parts?.Actuator.CloudMutations ?? 0;

    /// <summary>
    /// Whether the pool's cloud requests may wait (<see cref="ICloudRequestPriority"/>): false while the node has no
    /// address at all (its start: the node waits for its first addresses) and while an ADD waits, or the last ADD found
    /// no address, with none ready; otherwise the growth is for the warm pool and nobody waits for it.
    /// </summary>
    public bool CanWait
    {
        get
        {
            if (_parts is not { } parts)
            {
                return false;
            }

            var stats = parts.Datastore.GetStats();
            return stats.TotalIPs > 0 && !((WaitingAssignments > 0 || _lastAddFoundNone) && stats.ReadyIPs == 0);
        }
    }

    /// <summary>Prefix delegation's /32 fallback: ENIs in it now, and how often ENIs went to /32s and came back.</summary>
    public PrefixFallbackStats PrefixFallback => _parts?.Actuator.Fallback.Stats ?? default;

    /// <summary>Hears the pool's activities, failures and reconcile changes (a host's metrics); null for none.</summary>
    public IPoolObserver? Observer { get; init; }

    /// <summary>The most recent policy decision (diagnostics).</summary>
    public PoolDecision LastDecision => _lastDecision;

    /// <summary>
    /// Start-up: limits, the cloud's ENIs and addresses, the durable record validated against them, then one
    /// pool round. Addresses are taken only from the cloud's (EC2) view; a recorded allocation whose address the
    /// cloud does not list is kept unplaced, never handed out, and never dropped without evidence the pod is gone.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Observer?.ActivityStarted(PoolActivity.Initialize);
        var succeeded = false;
        try
        {
            await InitializeCoreAsync(cancellationToken).ConfigureAwait(false);
            succeeded = true;
        }
        finally
        {
            Observer?.ActivityEnded(PoolActivity.Initialize, succeeded);
        }
    }

    private async Task InitializeCoreAsync(CancellationToken cancellationToken)
    {
        var instance = await _cloud.GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var limits = await _cloud.GetInstanceLimitsAsync(instance.InstanceType, cancellationToken).ConfigureAwait(false);
        if (_options.EnablePrefixDelegation && !limits.SupportsPrefixDelegation)
        {
            Log.PrefixDelegationUnsupported(_logger, limits.InstanceType);
            _options = _options.With(o => o.EnablePrefixDelegation = false);
        }

        if (_options.EnableIPv6)
        {
            await InitializeIPv6Async(instance, limits, cancellationToken).ConfigureAwait(false);
            return;
        }

        var maxEnis = _options.MaxEni >= 1 ? Math.Min(_options.MaxEni, limits.MaxEnis) : limits.MaxEnis;
        lock (_gate)
        {
            // Under the gate: a max-pods override may arrive from another thread at any time.
            // Custom networking: the primary ENI's addresses are not the pods', as upstream's formula with the flag;
            // prefix delegation: the PD figure, not eni-max-pods.txt (which would stop the pool at one prefix on a t3.small).
            _baseMaxPods = _options.MaxPods ?? MaxPodsCalculator.Default(limits, _options.EnablePrefixDelegation, _options.UseCustomNetworking);
            _limits = new PoolLimits(maxEnis, limits.IPv4PerEni, _maxPodsOverride ?? _baseMaxPods)
            {
                SkipPrimaryEni = _options.UseCustomNetworking,
                IsSecondaryCard = NetworkCard != 0,
            };
        }

        var parts = CreateParts(instance);
        _parts = parts;
        var supportsTrunk = limits.SupportsTrunking;
        if (!await parts.Reconciler.ReconcileAsync(initializing: true, cancellationToken).ConfigureAwait(false))
        {
            // Starting from a view without the primary ENI would restore every allocation as unplaced and grow a pool
            // from nothing: fail the start instead (the daemon is restarted and asks again).
            throw new CloudException(CloudErrorKind.Transient, "the cloud's ENI list for this instance is empty or lacks the primary ENI; not starting from an incomplete view");
        }

        var reserveTrunkSlot = _options.EnablePodEni && supportsTrunk && NetworkCard == 0 && !parts.Datastore.GetEniStates().Any(e => e.IsTrunk);
        lock (_gate)
        {
            _limits = Limits with { ReserveTrunkSlot = reserveTrunkSlot };
        }

        if (_store is not null)
        {
            await new PoolRestorer(_store, _liveness, _logger, _time).RestoreAsync(parts.Datastore, _options.IpCooldownPeriod, cancellationToken).ConfigureAwait(false);
        }

        // Upstream nodeInit step 11, after the restore so restored pods keep their addresses.
        await parts.Reconciler.ReleaseExcludedFreeCidrsAsync(cancellationToken).ConfigureAwait(false);
        await parts.Actuator.ReleaseMismatchedCidrsAsync(cancellationToken).ConfigureAwait(false);
        Log.Initialized(_logger, NetworkCard, parts.Datastore.EniCount, parts.Datastore.GetStats(), _limits.MaxEnis, _limits.MaxPods, _options.EnablePrefixDelegation);
        await RunPoolRoundAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// ADD: binds an address to the key, durable before returning. If the pool is empty, waits up to
    /// <see cref="IpamOptions.AssignWaitTimeout"/> for a grow, then fails with the reason.
    /// </summary>
    public ValueTask<AssignResult> AssignAsync(AttachmentKey key, PodMetadata metadata, CancellationToken cancellationToken) =>
        AssignAsync(key, metadata, maxWait: null, cancellationToken);

    /// <summary>
    /// ADD with the wait for a grow also capped by <paramref name="maxWait"/> (the time the caller still has), so the
    /// caller hears the reason before it gives up; null for <see cref="IpamOptions.AssignWaitTimeout"/> alone.
    /// </summary>
    public async ValueTask<AssignResult> AssignAsync(AttachmentKey key, PodMetadata metadata, TimeSpan? maxWait, CancellationToken cancellationToken)
    {
        var ds = Datastore;
        var outcome = ds.Assign(key, metadata);
        string? waitedFor = null;
        if (outcome.Status == AssignStatus.NoFreeAddress)
        {
            var waitStarted = _time.GetUtcNow();
            var wait = maxWait is { } cap && cap < _options.AssignWaitTimeout ? (cap < TimeSpan.Zero ? TimeSpan.Zero : cap) : _options.AssignWaitTimeout;
            outcome = await _waiters.WaitAsync(() => ds.Assign(key, metadata), this, wait, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == AssignStatus.NoFreeAddress)
            {
                _lastAddFoundNone = true;
                var (reason, detail) = ExplainFailure(wait);
                return new AssignResult(reason, default, -1, -1, false, detail);
            }

            waitedFor = ExplainWait(waitStarted);
        }

        if (outcome.Status == AssignStatus.AlreadyAssigned && _store is not null && !_store.IsDurable(key, outcome.Address))
        {
            // A repeated ADD raced the first one's durable write: acknowledge only once the record is on disk.
            try
            {
                await _store.AppendAssignAsync(new AllocationRecord(key, outcome.Address, PoolDatastore.UnixNanoseconds(_time.GetUtcNow()), metadata), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DurableRecordException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                return new AssignResult(AssignFailureReason.RecordFailed, default, -1, -1, false, $"the allocation could not be recorded durably: {ex.Message}");
            }
        }

        if (outcome.Status == AssignStatus.Assigned)
        {
            _lastAddFoundNone = false;
            _demand.RecordAdd();
            if (_store is not null)
            {
                try
                {
                    await _store.AppendAssignAsync(new AllocationRecord(key, outcome.Address, PoolDatastore.UnixNanoseconds(_time.GetUtcNow()), metadata), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is DurableRecordException or IOException or OperationCanceledException or ObjectDisposedException)
                {
                    ds.RollbackAssign(key);
                    return new AssignResult(AssignFailureReason.RecordFailed, default, -1, -1, false, $"the allocation could not be recorded durably: {ex.Message}");
                }
            }

            Wake();
        }

        return new AssignResult(AssignFailureReason.None, outcome.Address, outcome.DeviceNumber, outcome.RouteTableId, outcome.Status == AssignStatus.AlreadyAssigned, waitedFor);
    }

    /// <summary>Why an ADD that found no free address at first had to wait (for the host's slow-ADD event).</summary>
    private string ExplainWait(DateTimeOffset since) => _backoff.FailureSince(since) is { } failure
        ? $"waited for the pool to grow; a growth failed meanwhile ({failure.Kind}{(failure.Message is null ? "" : ": " + failure.Message)})"
        : "waited for the pool to grow (a new ENI or more addresses from the cloud)";

    /// <summary>DEL: releases the key's address (it cools down), durable before returning. Unknown keys report Known = false.</summary>
    public async ValueTask<UnassignResult> UnassignAsync(AttachmentKey key, CancellationToken cancellationToken)
    {
        var ds = Datastore;
        var outcome = ds.Unassign(key);
        if (outcome.Status == UnassignStatus.Unknown)
        {
            return new UnassignResult(false, default, -1, -1, 0);
        }

        if (_store is not null)
        {
            try
            {
                await _store.AppendUnassignAsync(key, outcome.Address, PoolDatastore.UnixNanoseconds(_time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DurableRecordException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // Not durable: put the allocation back so memory and record agree; the runtime retries the DEL.
                ds.Restore(new AllocationRecord(key, outcome.Address, PoolDatastore.UnixNanoseconds(_time.GetUtcNow()), PodMetadata.None));
                throw;
            }
        }

        Wake();
        return new UnassignResult(true, outcome.Address, outcome.DeviceNumber, outcome.RouteTableId, outcome.InterfacesCount);
    }

    /// <summary>The pool loop: rounds on wake-ups and every PoolInterval, cloud reconcile every ReconcileInterval.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_ipv6 is not null)
        {
            // IPv6 mode has no pool loop and no reconcile (upstream §2.20): nothing to do until the host stops.
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        _loopRunning = true;
        try
        {
            await RunLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _loopRunning = false;
        }
    }

    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        if (_options.PoolLoop == PoolLoopMode.FixedInterval)
        {
            await RunFixedIntervalLoopAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // While ADDs wait, growth goes first: a reconcile's DescribeNetworkInterfaces may itself wait for the EC2
                // budget (a paced fleet), and the pods need addresses, not a fresh view. Overdue by a whole interval, it runs.
                var sinceReconcile = _time.GetUtcNow() - Initialized.Reconciler.LastReconcile;
                if (sinceReconcile >= _options.ReconcileInterval && (WaitingAssignments == 0 || sinceReconcile >= 2 * _options.ReconcileInterval))
                {
                    // A reconcile that fails (or that the EC2 budget defers) does not cost the round: it is tried again next time.
                    await RunOneStepAsync(() => ReconcileWithCloudAsync(cancellationToken)).ConfigureAwait(false);
                }

                await RunPoolRoundAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is CloudException or DatastoreException or IOException)
            {
                Log.LoopFailed(_logger, ex);
            }

            Task wake;
            lock (_gate)
            {
                wake = _wake.Task;
            }

            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = ClockDelay.Wait(_time, _options.PoolInterval, _inlineSignals, delayCancel.Token);
            await Task.WhenAny(wake, delay).ConfigureAwait(false);
            delayCancel.Cancel();
            lock (_gate)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = new TaskCompletionSource(_signalOptions);
                }
            }
        }
    }

    /// <summary>
    /// Upstream ipamd's loop (reference §2.2): sleep half the interval, one pool decision, sleep the other half, reconcile
    /// when due. Nothing wakes it early: an ADD that finds no address fails and the runtime retries it. A failed growth
    /// (throttled, any error) is tried again at the next cycle, as upstream's; the capacity back-off still applies.
    /// </summary>
    private async Task RunFixedIntervalLoopAsync(CancellationToken cancellationToken)
    {
        var half = _options.PoolInterval / 2;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ClockDelay.Wait(_time, half, _inlineSignals, cancellationToken).ConfigureAwait(false);
                await RunOneStepAsync(() => RunPoolRoundAsync(cancellationToken)).ConfigureAwait(false);
                await ClockDelay.Wait(_time, _options.PoolInterval - half, _inlineSignals, cancellationToken).ConfigureAwait(false);
                if (_time.GetUtcNow() - Initialized.Reconciler.LastReconcile >= _options.ReconcileInterval)
                {
                    await RunOneStepAsync(() => ReconcileWithCloudAsync(cancellationToken)).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RunOneStepAsync(Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CloudException or DatastoreException or IOException)
        {
            Log.LoopFailed(_logger, ex);
        }
    }

    /// <summary>Evaluates the policy and carries out its decisions until the pool is where it should be (bounded).</summary>
    public async Task<PoolDecision> RunPoolRoundAsync(CancellationToken cancellationToken)
    {
        await _roundGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var decision = PoolDecision.None;
            // Upstream decides once per cycle; VpcCni repeats until the pool is on target.
            var steps = _options.PoolLoop == PoolLoopMode.FixedInterval ? 1 : 16;
            var createsLeft = _options.MaxEniCreatesPerRound > 0 ? _options.MaxEniCreatesPerRound : int.MaxValue;
            for (var i = 0; i < steps; i++)
            {
                decision = CapNewEnis(Decide(), createsLeft);
                createsLeft -= decision.Grow.Count(g => g.IsNewEni);
                _lastDecision = decision;
                if (decision.IsEmpty || !await ExecuteAsync(decision, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }

            return decision;
        }
        finally
        {
            _roundGate.Release();
        }
    }

    /// <summary>Raises the peak of assigned addresses (seen at decisions; the loop runs after every ADD) if higher; returns the peak.</summary>
    private int NotePeakAssigned(int assigned)
    {
        var peak = Volatile.Read(ref _peakAssigned);
        while (assigned > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakAssigned, assigned, peak);
            if (seen == peak)
            {
                return assigned;
            }

            peak = seen;
        }

        return peak;
    }

    /// <summary>Keeps at most <paramref name="createsLeft"/> new ENIs of the decision (the per-round ENI cap).</summary>
    private static PoolDecision CapNewEnis(PoolDecision decision, int createsLeft)
    {
        if (createsLeft == int.MaxValue)
        {
            return decision;
        }

        var kept = new List<GrowAction>(decision.Grow.Count);
        var creates = 0;
        foreach (var action in decision.Grow)
        {
            if (!action.IsNewEni)
            {
                kept.Add(action);
            }
            else if (creates < createsLeft)
            {
                kept.Add(action);
                creates++;
            }
        }

        var fallback = creates < createsLeft ? decision.FallbackNewEniUnits : 0;
        return kept.Count == decision.Grow.Count && fallback == decision.FallbackNewEniUnits ? decision : decision with { Grow = kept, FallbackNewEniUnits = fallback };
    }

    /// <summary>The policy's decision for the current state (no side effects).</summary>
    public PoolDecision Decide() => DecideWithPending(0, 0);

    // The policy's decision with growth in flight counted: its addresses as if there, its new ENIs as taken slots.
    private PoolDecision DecideWithPending(int pendingEnis, int pendingUnits)
    {
        var ds = Datastore;
        var stats = ds.GetStats();
        var snapshot = new PoolSnapshot(pendingUnits == 0 ? stats : stats with { TotalIPs = stats.TotalIPs + pendingUnits }, ds.GetEniStates(), _time.GetUtcNow())
        {
            LastDecrease = Initialized.Actuator.LastDecrease,
            LastInsufficientCapacity = _backoff.LastInsufficientCapacity,
            AddsPerSecond = _demand.AddsPerSecond(),
            AddsInLeadTime = _demand.AddsWithin(_options.DemandLeadTime),
            WaitingAssignments = _waiters.Count,
            PeakAssigned = NotePeakAssigned(stats.AssignedIPs),
        };
        return _policy.Decide(snapshot, pendingEnis == 0 ? Limits : Limits with { MaxEnis = Math.Max(0, Limits.MaxEnis - pendingEnis) }, _options);
    }

    /// <summary>
    /// Aligns the datastore with the cloud's view (see <see cref="CloudReconciler"/>): ENIs attached or detached behind
    /// our back, addresses added or removed; allocations on addresses the cloud dropped are kept unplaced. A view that
    /// is empty or lacks the primary ENI is not applied; an ENI is removed only when two views in a row miss it.
    /// </summary>
    public Task ReconcileWithCloudAsync(CancellationToken cancellationToken) => Initialized.Reconciler.ReconcileAsync(initializing: false, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _roundGate.Dispose();
        _ipv6Record.Dispose();
    }

    /// <summary>Folds the journal into the checkpoint (call on shutdown so upstream can read the file).</summary>
    public Task CompactRecordAsync(CancellationToken cancellationToken) => _store?.CompactAsync(cancellationToken) ?? Task.CompletedTask;

    bool IPoolGrowth.LoopRunning => _loopRunning;

    bool IPoolGrowth.InFlight => _leases.AnyHeld;

    bool IPoolGrowth.CannotGrow(DateTimeOffset waitStart) =>
        Decide().Blocked is GrowthBlock.MaxPods or GrowthBlock.NoRoom or GrowthBlock.CapacityBackoff || _backoff.FailedSince(waitStart);

    void IPoolGrowth.WakeLoop() => Wake();

    Task IPoolGrowth.RunPoolRoundAsync(CancellationToken cancellationToken) => RunPoolRoundAsync(cancellationToken);

    private (AssignFailureReason, string) ExplainFailure(TimeSpan waited)
    {
        var decision = Decide();
        return decision.Blocked switch
        {
            GrowthBlock.MaxPods => (AssignFailureReason.MaxPodsReached, $"no free address: the pool holds max pods ({Limits.MaxPods}) addresses"),
            GrowthBlock.NoRoom => (AssignFailureReason.NoRoom, $"no free address: every ENI is full and no ENI can be added (max {Limits.MaxEnis} ENIs, {Limits.UnmanagedEnis} unmanaged)"),
            _ => _backoff.ExplainNoAddress(waited),
        };
    }

    private async Task<bool> ExecuteAsync(PoolDecision decision, CancellationToken cancellationToken)
    {
        var progressed = false;
        if (decision.Grow.Count > 0)
        {
            progressed |= await ObserveAsync(PoolActivity.Grow, () => GrowAllAsync(decision, cancellationToken)).ConfigureAwait(false);
        }

        if (decision.Release.Count > 0 || decision.DeleteEniId is not null)
        {
            progressed |= await ObserveAsync(PoolActivity.Shrink, () => ShrinkAsync(decision, cancellationToken)).ConfigureAwait(false);
        }

        return progressed;
    }

    private async Task<bool> ObserveAsync(PoolActivity activity, Func<Task<bool>> run)
    {
        Observer?.ActivityStarted(activity);
        var progressed = false;
        try
        {
            progressed = await run().ConfigureAwait(false);
            return progressed;
        }
        finally
        {
            Observer?.ActivityEnded(activity, progressed);
        }
    }

    private async Task<bool> GrowAllAsync(PoolDecision decision, CancellationToken cancellationToken)
    {
        var running = new List<(Task<bool> Task, int Units, bool NewEni)>(decision.Grow.Count);
        for (var i = 0; i < decision.Grow.Count; i++)
        {
            var action = decision.Grow[i];
            running.Add((GrowAsync(action, i == 0 ? decision.FallbackNewEniUnits : 0, cancellationToken), action.Units, action.IsNewEni));
        }

        var progressed = false;
        if (!GrowsWhileInFlight)
        {
            foreach (var ok in await Task.WhenAll(running.Select(r => r.Task)).ConfigureAwait(false))
            {
                progressed |= ok;
            }

            return progressed;
        }

        // ADDs that start waiting while ENIs are on their way (a burst arrives over a moment, not at once) get more ENIs
        // now, not one lead time later: the policy decides again with the addresses in flight counted as there.
        while (running.Count > 0)
        {
            Task wake;
            lock (_gate)
            {
                if (_growthWake.Task.IsCompleted)
                {
                    _growthWake = new TaskCompletionSource(_signalOptions);
                }

                wake = _growthWake.Task;
            }

            for (var i = running.Count - 1; i >= 0; i--)
            {
                if (running[i].Task.IsCompleted)
                {
                    progressed |= await running[i].Task.ConfigureAwait(false);
                    running.RemoveAt(i);
                }
            }

            if (running.Count == 0)
            {
                break;
            }

            if (WaitingAssignments > 0)
            {
                var pendingUnits = running.Sum(r => r.Units);
                var pendingEnis = running.Count(r => r.NewEni);
                foreach (var action in DecideWithPending(pendingEnis, pendingUnits).Grow.Where(g => g.IsNewEni))
                {
                    running.Add((GrowAsync(action, 0, cancellationToken), action.Units, true));
                }
            }

            await Task.WhenAny(Task.WhenAny(running.Select(r => r.Task)), wake).ConfigureAwait(false);
        }

        return progressed;
    }

    // The burst policy (its new ENIs are whole, so deciding again adds ENIs only for demand beyond them), event-driven,
    // secondary-IP mode, no per-round ENI cap: growth decided while other growth is in flight.
    private bool GrowsWhileInFlight =>
        _options.PoolPolicy == PoolPolicyKind.Burst && _options.PoolLoop == PoolLoopMode.EventDriven && !_options.EnablePrefixDelegation
        && _options.MaxEniCreatesPerRound <= 0;

    private async Task<bool> ShrinkAsync(PoolDecision decision, CancellationToken cancellationToken)
    {
        var actuator = Initialized.Actuator;
        var progressed = false;
        foreach (var release in decision.Release)
        {
            progressed |= (await actuator.ReleaseAsync(release, cancellationToken).ConfigureAwait(false)).Progressed;
        }

        if (decision.DeleteEniId is { } deleteId)
        {
            progressed |= (await actuator.DeleteEniAsync(deleteId, cancellationToken).ConfigureAwait(false)).Progressed;
        }

        return progressed;
    }

    private async Task<bool> GrowAsync(GrowAction action, int fallbackNewEniUnits, CancellationToken cancellationToken)
    {
        var actuator = Initialized.Actuator;
        var fallThrough = !action.IsNewEni && _options.EnableSubnetDiscovery;
        var outcome = await actuator.GrowAsync(action, cancellationToken, deferCapacityFailure: fallThrough).ConfigureAwait(false);
        if (outcome.Status == ActuationStatus.GrowthFailed && fallThrough && outcome.Error is { } kind && PoolActuator.IsCapacity(kind))
        {
            return await FallThroughAsync(action, fallbackNewEniUnits, outcome, cancellationToken).ConfigureAwait(false);
        }

        if (outcome.Status != ActuationStatus.EniFull)
        {
            return outcome.Progressed;
        }

        // Our view of the ENI is out of date: trust the cloud's list of its addresses, then fall back to a new ENI.
        try
        {
            await ReconcileWithCloudAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException ex)
        {
            // The view could not be fetched: a failed growth like any other.
            actuator.GrowthFailed(ex.Kind, ex.Message);
            return false;
        }

        return fallbackNewEniUnits > 0 && (await actuator.CreateEniAsync(fallbackNewEniUnits, cancellationToken).ConfigureAwait(false)).Progressed;
    }

    /// <summary>
    /// Upstream §2.7 with subnet discovery on: a top-up refused for capacity (the subnet is full, or has no /28) moves on
    /// to the next ENI with room, then to a new ENI (the provider tries every eligible subnet). ENIs in a subnet that
    /// already refused are skipped (they would get the same answer). If nothing succeeds, the first refusal starts the
    /// capacity backoff as without discovery.
    /// </summary>
    private async Task<bool> FallThroughAsync(GrowAction action, int fallbackNewEniUnits, ActuationOutcome first, CancellationToken cancellationToken)
    {
        var actuator = Initialized.Actuator;
        var limits = Limits;
        var states = Datastore.GetEniStates();
        var refused = new HashSet<string?>(StringComparer.Ordinal) { states.FirstOrDefault(e => e.Id == action.EniId)?.SubnetId };
        foreach (var eni in states)
        {
            if (eni.Id == action.EniId || eni.IsTrunk || eni.IsExcluded || (limits.SkipPrimaryEni && eni.IsPrimary)
                || eni.AllCidrs >= limits.CidrsPerEni || refused.Contains(eni.SubnetId))
            {
                continue;
            }

            Log.GrowthFallThrough(_logger, action.EniId!, first.Error!.Value, eni.Id);
            var next = await actuator.GrowAsync(action with { EniId = eni.Id, Units = Math.Min(action.Units, limits.CidrsPerEni - eni.AllCidrs) }, cancellationToken, deferCapacityFailure: true)
                .ConfigureAwait(false);
            if (next.Progressed)
            {
                return true;
            }

            if (next.Status == ActuationStatus.GrowthFailed && next.Error is { } kind && PoolActuator.IsCapacity(kind))
            {
                refused.Add(eni.SubnetId);
                continue;
            }

            if (next.Status == ActuationStatus.GrowthFailed)
            {
                // Another kind of failure was recorded by the actuator.
                return false;
            }
        }

        if (fallbackNewEniUnits > 0)
        {
            Log.GrowthFallThrough(_logger, action.EniId!, first.Error!.Value, "a new ENI");
            return (await actuator.CreateEniAsync(fallbackNewEniUnits, cancellationToken).ConfigureAwait(false)).Progressed;
        }

        actuator.GrowthFailed(first.Error!.Value, first.Message);
        return false;
    }

    /// <summary>
    /// IPv6 start (upstream §2.20 and isConfigValid): a Nitro or bare-metal type, the primary ENI's /80 prefix (assigned
    /// when EC2 shows none; extra prefixes are left alone), then the checkpoint's IPv6 allocations restored into it.
    /// No ENI is created and no IPv4 address is asked for; the IPv4 datastore stays empty.
    /// </summary>
    private async Task InitializeIPv6Async(InstanceIdentity instance, InstanceLimits limits, CancellationToken cancellationToken)
    {
        IpamConfigRules.ThrowIfUnsupportedOn(_options, limits);
        var cloud = IPv6Cloud ?? _cloud as IIPv6PrefixProvider
            ?? throw new CloudException(CloudErrorKind.InvalidConfiguration, "ENABLE_IPv6=true needs a cloud port that implements IIPv6PrefixProvider");
        lock (_gate)
        {
            // Only the primary ENI is used; max pods is the prefix-delegation figure (what an IPv6 node advertises).
            _baseMaxPods = _options.MaxPods ?? MaxPodsCalculator.Default(limits, prefixDelegation: true, customNetworking: false);
            _limits = new PoolLimits(1, limits.IPv4PerEni, _maxPodsOverride ?? _baseMaxPods) { IsSecondaryCard = NetworkCard != 0 };
        }

        _parts = CreateParts(instance);
        var enis = await _cloud.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
        var primary = enis.FirstOrDefault(e => e.Id == instance.PrimaryEniId) ?? enis.FirstOrDefault(e => e.IsPrimary)
            ?? throw new CloudException(CloudErrorKind.Transient, "the cloud's ENI list for this instance lacks the primary ENI; not starting from an incomplete view");
        var prefixes = await cloud.EnsureIPv6PrefixAsync(primary.Id, cancellationToken).ConfigureAwait(false);
        if (prefixes.Count == 0)
        {
            throw new CloudException(CloudErrorKind.Other, $"ENI {primary.Id} has no IPv6 prefix after AssignIpv6Addresses");
        }

        IPv6VpcCidrs = await cloud.GetVpcIPv6CidrsAsync(cancellationToken).ConfigureAwait(false);
        IPv6NodeAddress = primary.IPv6Addresses.Count > 0 ? primary.IPv6Addresses[0] : null;
        var store = new IPv6AddressStore(_options.IpCooldownPeriod, _time);
        store.AddPrefix(primary.Id, 0, prefixes[0]);
        int restored = 0, dropped = 0;
        if (_options.BackingStorePath is { } path)
        {
            var problems = new List<string>();
            foreach (var (key, address, at, metadata) in IPv6Checkpoint.Read(path, problems))
            {
                if (store.Restore(key, address, at, metadata))
                {
                    restored++;
                }
                else
                {
                    dropped++;
                    problems.Add($"allocation {key} of {address} lies in no prefix of the ENI ({prefixes[0]}); presuming stale/dead, dropped");
                }
            }

            foreach (var problem in problems)
            {
                Log.IPv6RestoreProblem(_logger, problem);
            }

            // Rewritten once restored, as upstream (drops what was purged; IPv4 entries of an earlier mode included).
            IPv6Checkpoint.Write(path, store.Allocations);
        }

        _ipv6 = store;
        Log.IPv6Initialized(_logger, primary.Id, prefixes[0].ToString(), restored, dropped);
    }

    /// <summary>
    /// IPv6 ADD: the key's /128 from the primary ENI's prefix, recorded in the checkpoint before it is returned (a
    /// failed write undoes the assignment and fails with <see cref="AssignFailureReason.RecordFailed"/>).
    /// </summary>
    public async ValueTask<IPv6AssignResult> AssignIPv6Async(AttachmentKey key, PodMetadata metadata, CancellationToken cancellationToken)
    {
        var store = _ipv6 ?? throw new InvalidOperationException("IPv6 mode is off, or InitializeAsync has not completed.");
        await _ipv6Record.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = store.Assign(key, metadata);
            if (!result.Succeeded || result.Reused || _options.BackingStorePath is not { } path)
            {
                return result;
            }

            try
            {
                IPv6Checkpoint.Write(path, store.Allocations);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                store.Forget(result.Allocation!);
                return new IPv6AssignResult(AssignFailureReason.RecordFailed, null, false, ex.Message);
            }

            return result;
        }
        finally
        {
            _ipv6Record.Release();
        }
    }

    /// <summary>
    /// IPv6 DEL: releases the key's address (its cooldown starts) and records it; null when the key holds nothing. A
    /// failed write puts the allocation back and throws, so the runtime retries the DEL.
    /// </summary>
    public async ValueTask<IPv6Allocation?> UnassignIPv6Async(AttachmentKey key, CancellationToken cancellationToken)
    {
        var store = _ipv6 ?? throw new InvalidOperationException("IPv6 mode is off, or InitializeAsync has not completed.");
        await _ipv6Record.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var released = store.Unassign(key);
            if (released is null || _options.BackingStorePath is not { } path)
            {
                return released;
            }

            try
            {
                IPv6Checkpoint.Write(path, store.Allocations);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                store.Reinstate(released);
                throw new DurableRecordException($"could not record the release of {released.Address} for {key}: {ex.Message}", ex);
            }

            return released;
        }
        finally
        {
            _ipv6Record.Release();
        }
    }

    private Parts Initialized => _parts ?? throw new InvalidOperationException("call InitializeAsync first.");

    private Parts CreateParts(InstanceIdentity instance)
    {
        var datastore = new PoolDatastore(NetworkCard, _options.EnablePrefixDelegation, _options.IpCooldownPeriod, _time);
        var fallback = new PrefixFallback(_time, _options.InsufficientCapacityBackoff);
        var membership = new EniMembership(datastore, _eniHook, _logger, fallback);
        var ownership = new EniOwnership(_cloud, instance.InstanceId, _options.ManageUntaggedEni, _logger);
        var unit = _options.EnablePrefixDelegation ? AddressUnit.IPv4Prefix : AddressUnit.SecondaryIPv4;
        var actuator = new PoolActuator(_cloud, membership, ownership, _leases, _backoff, _waiters, _time, _logger, NetworkCard, unit, fallback, Limits.CidrsPerEni, Observer);
        var reconciler = new CloudReconciler(_cloud, membership, ownership, _leases, actuator, _waiters, _time, _logger, NetworkCard, Observer);
        return new Parts(datastore, actuator, reconciler);
    }

    private void Wake()
    {
        TaskCompletionSource wake;
        TaskCompletionSource growthWake;
        lock (_gate)
        {
            wake = _wake;
            growthWake = _growthWake;
        }

        wake.TrySetResult();
        growthWake.TrySetResult();
    }

    /// <summary>The parts that exist once the datastore does.</summary>
    private sealed record Parts(PoolDatastore Datastore, PoolActuator Actuator, CloudReconciler Reconciler);
}
