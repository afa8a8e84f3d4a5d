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
public sealed class PoolController : IDisposable, IPoolGrowth
{
    private readonly IEniProvider _cloud;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DurableAllocationStore? _store;
    private readonly IPodLivenessEvidence? _liveness;
    private readonly IEniLifecycleHook? _eniHook;
    private const string NoManageTag = "node.k8s.amazonaws.com/no_manage";
    private const string InstanceIdTag = "node.k8s.amazonaws.com/instance_id";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, NetworkInterface> _eniDetails = new(StringComparer.Ordinal);

    // Reconcile state, guarded by _gate: ENIs missing from the last view (removed only when missing twice in a row),
    // ENIs whose tags were already ensured or that we created, the last managed decision per ENI (kept when a view
    // carries no tags at all), and ENIs the cloud marks excluded from pod addresses.
    private readonly HashSet<string> _missingOnce = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tagsEnsured = new(StringComparer.Ordinal);
    private readonly HashSet<string> _createdHere = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _managedDecisions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _cloudExcluded = new(StringComparer.Ordinal);
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
    private IpamOptions _options;
    private PoolDatastore? _datastore;
    private PoolLimits? _limits;
    private InstanceIdentity? _instance;
    private DateTimeOffset? _lastDecrease;
    private DateTimeOffset _lastCloudReconcile;
    private PoolDecision _lastDecision = PoolDecision.None;
    private volatile bool _loopRunning;
    private long _cloudMutations;

    /// <param name="cloud">The cloud port.</param>
    /// <param name="options">Validated options (see <see cref="IpamOptionsValidator"/>).</param>
    /// <param name="timeProvider">Clock for every wait and timestamp.</param>
    /// <param name="store">Durable record; null keeps allocations in memory only (planner, simulator).</param>
    /// <param name="liveness">Evidence that restored pods are gone; null means "never positively gone".</param>
    /// <param name="networkCard">The card this controller manages.</param>
    public PoolController(
        IEniProvider cloud,
        IpamOptions options,
        TimeProvider timeProvider,
        DurableAllocationStore? store = null,
        IPodLivenessEvidence? liveness = null,
        ILogger<PoolController>? logger = null,
        int networkCard = 0,
        IEniLifecycleHook? eniHook = null)
        : this(cloud, options, timeProvider, store, liveness, logger, networkCard, inlineSignals: false, eniHook)
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
        IEniLifecycleHook? eniHook = null)
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
        _policy = options.PoolPolicy == PoolPolicyKind.DemandAware ? DemandAwarePoolPolicy.Instance : UpstreamPoolPolicy.Instance;
        _demand = new DemandTracker(timeProvider, options.DemandWindow);
        _backoff = new ErrorBackoff(timeProvider);
        _inlineSignals = inlineSignals;
        _signalOptions = inlineSignals ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
        _waiters = new AssignWaiters(timeProvider, inlineSignals);
        _wake = new TaskCompletionSource(_signalOptions);
    }

    public int NetworkCard { get; }

    /// <summary>The datastore (after <see cref="InitializeAsync"/>).</summary>
    public PoolDatastore Datastore => _datastore ?? throw new InvalidOperationException("call InitializeAsync first.");

    /// <summary>The limits in force (after <see cref="InitializeAsync"/>).</summary>
    public PoolLimits Limits => _limits ?? throw new InvalidOperationException("call InitializeAsync first.");

    /// <summary>The options in force (PD is switched off on types that cannot do it, as upstream).</summary>
    public IpamOptions Options => _options;

    /// <summary>ADDs currently waiting for the pool to grow.</summary>
    public int WaitingAssignments => _waiters.Count;

    /// <summary>Mutating cloud calls made (create, assign, unassign, delete).</summary>
    public long CloudMutations => Interlocked.Read(ref _cloudMutations);

    /// <summary>The most recent policy decision (diagnostics).</summary>
    public PoolDecision LastDecision => _lastDecision;

    /// <summary>
    /// Start-up: limits, the cloud's ENIs and addresses, the durable record validated against them, then one
    /// pool round. Addresses are taken only from the cloud's (EC2) view; a recorded allocation whose address the
    /// cloud does not list is kept unplaced, never handed out, and never dropped without evidence the pod is gone.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        _instance = await _cloud.GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var limits = await _cloud.GetInstanceLimitsAsync(_instance.InstanceType, cancellationToken).ConfigureAwait(false);
        if (_options.EnablePrefixDelegation && !limits.SupportsPrefixDelegation)
        {
            Log.PrefixDelegationUnsupported(_logger, limits.InstanceType);
            _options = _options.With(o => o.EnablePrefixDelegation = false);
        }

        var maxEnis = _options.MaxEni >= 1 ? Math.Min(_options.MaxEni, limits.MaxEnis) : limits.MaxEnis;
        _limits = new PoolLimits(maxEnis, limits.IPv4PerEni, _options.MaxPods ?? MaxPodsCalculator.SecondaryIp(limits))
        {
            SkipPrimaryEni = _options.UseCustomNetworking,
            IsSecondaryCard = NetworkCard != 0,
        };
        _datastore = new PoolDatastore(NetworkCard, _options.EnablePrefixDelegation, _options.IpCooldownPeriod, _time);
        var supportsTrunk = limits.SupportsTrunking;
        if (!await ReconcileCoreAsync(initializing: true, cancellationToken).ConfigureAwait(false))
        {
            // Starting from a view without the primary ENI would restore every allocation as unplaced and grow a pool
            // from nothing: fail the start instead (the daemon is restarted and asks again).
            throw new CloudException(CloudErrorKind.Transient, "the cloud's ENI list for this instance is empty or lacks the primary ENI; not starting from an incomplete view");
        }


        _limits = _limits with { ReserveTrunkSlot = _options.EnablePodEni && supportsTrunk && NetworkCard == 0 && !_datastore.GetEniStates().Any(e => e.IsTrunk) };

        if (_store is not null)
        {
            await new PoolRestorer(_store, _liveness, _logger).RestoreAsync(_datastore, _options.IpCooldownPeriod, cancellationToken).ConfigureAwait(false);
        }

        // Upstream nodeInit step 11, after the restore so restored pods keep their addresses.
        await ReleaseExcludedFreeCidrsAsync(cancellationToken).ConfigureAwait(false);
        await ReleaseMismatchedCidrsAsync(cancellationToken).ConfigureAwait(false);
        Log.Initialized(_logger, NetworkCard, _datastore.EniCount, _datastore.GetStats(), _limits.MaxEnis, _limits.MaxPods, _options.EnablePrefixDelegation);
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
        if (outcome.Status == AssignStatus.NoFreeAddress)
        {
            var wait = maxWait is { } cap && cap < _options.AssignWaitTimeout ? (cap < TimeSpan.Zero ? TimeSpan.Zero : cap) : _options.AssignWaitTimeout;
            outcome = await _waiters.WaitAsync(() => ds.Assign(key, metadata), this, wait, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == AssignStatus.NoFreeAddress)
            {
                var (reason, detail) = ExplainFailure(wait);
                return new AssignResult(reason, default, -1, -1, false, detail);
            }
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

        return new AssignResult(AssignFailureReason.None, outcome.Address, outcome.DeviceNumber, outcome.RouteTableId, outcome.Status == AssignStatus.AlreadyAssigned, null);
    }

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
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_time.GetUtcNow() - _lastCloudReconcile >= _options.ReconcileInterval)
                {
                    await ReconcileWithCloudAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Evaluates the policy and carries out its decisions until the pool is where it should be (bounded).</summary>
    public async Task<PoolDecision> RunPoolRoundAsync(CancellationToken cancellationToken)
    {
        await _roundGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var decision = PoolDecision.None;
            for (var i = 0; i < 16; i++)
            {
                decision = Decide();
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

    /// <summary>The policy's decision for the current state (no side effects).</summary>
    public PoolDecision Decide()
    {
        var ds = Datastore;
        var snapshot = new PoolSnapshot(ds.GetStats(), ds.GetEniStates(), _time.GetUtcNow())
        {
            LastDecrease = _lastDecrease,
            LastInsufficientCapacity = _backoff.LastInsufficientCapacity,
            AddsPerSecond = _demand.AddsPerSecond(),
            WaitingAssignments = _waiters.Count,
        };
        return _policy.Decide(snapshot, Limits, _options);
    }

    /// <summary>
    /// Aligns the datastore with the cloud's view: ENIs attached or detached behind our back, addresses added or
    /// removed. Allocations on addresses the cloud dropped are kept unplaced (never handed out again).
    /// </summary>
    /// <remarks>
    /// A view that is empty or lacks the primary ENI is not applied (upstream aborts on an empty list, §2.16): it
    /// would force-remove every ENI and strand every pod. An ENI missing from one view stops handing out addresses at
    /// once but is force-removed only when the next reconcile still misses it, so one flapping view costs no pod its
    /// address. The primary ENI is never removed.
    /// </remarks>
    public Task ReconcileWithCloudAsync(CancellationToken cancellationToken) => ReconcileCoreAsync(initializing: false, cancellationToken);

    private async Task<bool> ReconcileCoreAsync(bool initializing, CancellationToken cancellationToken)
    {
        var ds = Datastore;
        var enis = await _cloud.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
        _lastCloudReconcile = _time.GetUtcNow();
        if (!enis.Any(e => e.IsPrimary))
        {
            Log.ReconcileAborted(_logger, NetworkCard, enis.Count);
            return false;
        }

        var viewHasTags = enis.Any(e => e.Tags.Count > 0);
        var managed = new List<NetworkInterface>();
        var unmanaged = 0;
        foreach (var eni in enis)
        {
            if (eni.NetworkCardIndex != NetworkCard || eni.Kind == EniKind.EfaOnly)
            {
                continue;
            }

            if (!IsManaged(eni, viewHasTags))
            {
                unmanaged++;
                continue;
            }

            managed.Add(eni);
        }

        _limits = Limits with { UnmanagedEnis = unmanaged };
        lock (_gate)
        {
            _cloudExcluded.Clear();
            _cloudExcluded.UnionWith(managed.Where(e => e.IsExcludedForPodIPs).Select(e => e.Id));
        }

        foreach (var eni in managed)
        {
            await EnsureTagsOnceAsync(eni, cancellationToken).ConfigureAwait(false);
            using var lease = _leases.TryAcquire(eni.Id);
            if (lease is null)
            {
                continue;
            }

            lock (_gate)
            {
                _missingOnce.Remove(eni.Id);
            }

            if (!ds.ContainsEni(eni.Id))
            {
                await AddEniToDatastoreAsync(eni, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // Also lifts the hold put on an ENI that was missing from the previous view.
            ds.SetExcluded(eni.Id, eni.IsExcludedForPodIPs);
            var cloudCidrs = CidrsOf(eni).ToHashSet();
            var known = ds.GetCidrs(eni.Id);
            foreach (var cidr in known)
            {
                if (!cloudCidrs.Contains(cidr))
                {
                    RestoreUnplaced(ds.RemoveCidr(eni.Id, cidr, force: true));
                }
            }

            foreach (var cidr in cloudCidrs)
            {
                if (!known.Contains(cidr))
                {
                    TryAddCidr(eni.Id, cidr);
                }
            }
        }

        var attached = managed.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var state in ds.GetEniStates())
        {
            var id = state.Id;
            if (attached.Contains(id) || state.IsPrimary)
            {
                continue;
            }

            using var lease = _leases.TryAcquire(id);
            if (lease is null)
            {
                continue;
            }

            bool firstMiss;
            lock (_gate)
            {
                firstMiss = _missingOnce.Add(id);
            }

            if (firstMiss)
            {
                // Possibly a flapping view: stop handing out its addresses, keep its pods, look again next time.
                ds.SetExcluded(id, true);
                Log.EniMissingOnce(_logger, id);
                continue;
            }

            lock (_gate)
            {
                _missingOnce.Remove(id);
                _tagsEnsured.Remove(id);
                _managedDecisions.Remove(id);
                _createdHere.Remove(id);
            }

            var dropped = ds.RemoveEni(id, force: true);
            Log.EniVanished(_logger, id, dropped.Count);
            RestoreUnplaced(dropped);
            await NotifyRemovedAsync(id, cancellationToken).ConfigureAwait(false);
        }

        if (!initializing)
        {
            await ReleaseExcludedFreeCidrsAsync(cancellationToken).ConfigureAwait(false);
        }

        SignalPoolChanged();
        return true;
    }

    // Upstream §2.13, per ENI: a no_manage tag decides (unmanaged iff exactly "true"), else our instance-id tag makes
    // it ours, else MANAGE_UNTAGGED_ENI; the primary ENI is always managed. ENIs this controller created stay ours
    // even if a provider does not tag them. A view without any tags (a failed tag lookup) changes no earlier decision.
    private bool IsManaged(NetworkInterface eni, bool viewHasTags)
    {
        if (eni.IsPrimary)
        {
            return true;
        }

        lock (_gate)
        {
            if (!viewHasTags && _managedDecisions.TryGetValue(eni.Id, out var previous))
            {
                return previous;
            }

            bool managed;
            if (eni.Tags.TryGetValue(NoManageTag, out var noManage))
            {
                managed = noManage != "true";
            }
            else if (eni.Tags.TryGetValue(InstanceIdTag, out var owner) && owner == _instance?.InstanceId)
            {
                managed = true;
            }
            else
            {
                managed = _createdHere.Contains(eni.Id) || _options.ManageUntaggedEni;
            }

            _managedDecisions[eni.Id] = managed;
            return managed;
        }
    }

    // Upstream TagENI at init and reconcile: once per managed, non-trunk ENI the engine takes over; never fatal.
    private async ValueTask EnsureTagsOnceAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        if (eni.Kind == EniKind.Trunk)
        {
            return;
        }

        lock (_gate)
        {
            if (!_tagsEnsured.Add(eni.Id))
            {
                return;
            }
        }

        try
        {
            await _cloud.EnsureEniTagsAsync(eni, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EniTaggingFailed(_logger, eni.Id, ex.Message);
        }
    }

    // Upstream §2.14: an ENI whose subnet is excluded gives its unassigned CIDRs back (upstream at init; here also on
    // each reconcile, so CIDRs freed by pods that left go back too instead of staying idle on the ENI).
    private async Task ReleaseExcludedFreeCidrsAsync(CancellationToken cancellationToken)
    {
        foreach (var eni in Datastore.GetEniStates())
        {
            bool excludedByCloud;
            lock (_gate)
            {
                excludedByCloud = _cloudExcluded.Contains(eni.Id);
            }

            if (!eni.IsExcluded || !excludedByCloud || eni.FreeableCidrs.Count == 0)
            {
                continue;
            }

            using var lease = _leases.TryAcquire(eni.Id);
            if (lease is null)
            {
                continue;
            }

            try
            {
                var removed = new List<IPNetwork>();
                foreach (var cidr in eni.FreeableCidrs)
                {
                    try
                    {
                        Datastore.RemoveCidr(eni.Id, cidr, force: false);
                        removed.Add(cidr);
                    }
                    catch (DatastoreException)
                    {
                        // Taken since the snapshot (cannot happen while excluded, but never force).
                    }
                }

                if (removed.Count > 0)
                {
                    await CloudCallAsync("UnassignAsync", () => _cloud.UnassignAsync(eni.Id, removed, cancellationToken)).ConfigureAwait(false);
                    Log.ExcludedCidrsReleased(_logger, eni.Id, removed.Count);
                }
            }
            catch (CloudException)
            {
                // Still on the ENI in the cloud: the next reconcile adds them back (excluded) and tries again.
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _roundGate.Dispose();

    /// <summary>Folds the journal into the checkpoint (call on shutdown so upstream can read the file).</summary>
    public Task CompactRecordAsync(CancellationToken cancellationToken) => _store?.CompactAsync(cancellationToken) ?? Task.CompletedTask;

    // Upstream nodeInit step 12: after a mode switch, give back the other mode's unused CIDRs.
    private async Task ReleaseMismatchedCidrsAsync(CancellationToken cancellationToken)
    {
        foreach (var eni in Datastore.GetEniStates())
        {
            if (eni.MismatchedFreeCidrs.Count == 0)
            {
                continue;
            }

            using var lease = _leases.TryAcquire(eni.Id);
            if (lease is null)
            {
                continue;
            }

            try
            {
                var removed = new List<IPNetwork>();
                foreach (var cidr in eni.MismatchedFreeCidrs)
                {
                    try
                    {
                        Datastore.RemoveCidr(eni.Id, cidr, force: false);
                        removed.Add(cidr);
                    }
                    catch (DatastoreException)
                    {
                    }
                }

                await CloudCallAsync("UnassignAsync", () => _cloud.UnassignAsync(eni.Id, removed, cancellationToken)).ConfigureAwait(false);
            }
            catch (CloudException)
            {
            }
        }
    }

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
            var tasks = new List<Task<bool>>(decision.Grow.Count);
            for (var i = 0; i < decision.Grow.Count; i++)
            {
                tasks.Add(GrowAsync(decision.Grow[i], i == 0 ? decision.FallbackNewEniUnits : 0, cancellationToken));
            }

            foreach (var ok in await Task.WhenAll(tasks).ConfigureAwait(false))
            {
                progressed |= ok;
            }
        }

        foreach (var release in decision.Release)
        {
            progressed |= await ReleaseAsync(release, cancellationToken).ConfigureAwait(false);
        }

        if (decision.DeleteEniId is { } deleteId)
        {
            progressed |= await DeleteEniAsync(deleteId, cancellationToken).ConfigureAwait(false);
        }

        return progressed;
    }

    private async Task<bool> GrowAsync(GrowAction action, int fallbackNewEniUnits, CancellationToken cancellationToken)
    {
        var unit = _options.EnablePrefixDelegation ? AddressUnit.IPv4Prefix : AddressUnit.SecondaryIPv4;
        if (action.IsNewEni)
        {
            return await CreateEniAsync(unit, action.Units, cancellationToken).ConfigureAwait(false);
        }

        var eniId = action.EniId!;
        var lease = _leases.TryAcquire(eniId);
        if (lease is null)
        {
            return false;
        }

        try
        {
            IReadOnlyList<IPNetwork> added;
            try
            {
                added = await CloudCallAsync("AssignAsync", () => _cloud.AssignAsync(eniId, unit, action.Units, cancellationToken)).ConfigureAwait(false);
            }
            catch (CloudException ex) when (ex.Kind == CloudErrorKind.EniAddressLimitExceeded)
            {
                // Our view is out of date: trust the cloud's list of this ENI's addresses.
                lease.Dispose();
                await ReconcileWithCloudAsync(cancellationToken).ConfigureAwait(false);
                return fallbackNewEniUnits > 0 && await CreateEniAsync(unit, fallbackNewEniUnits, cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException ex) when (action.Units > 1 && ex.Kind is not (CloudErrorKind.Throttled or CloudErrorKind.SubnetFull or CloudErrorKind.NoFreePrefix))
            {
                // Upstream: a failed bulk request is retried for a single unit.
                added = await CloudCallAsync("AssignAsync", () => _cloud.AssignAsync(eniId, unit, 1, cancellationToken)).ConfigureAwait(false);
            }

            foreach (var cidr in added)
            {
                TryAddCidr(eniId, cidr);
            }

            _backoff.NoteSuccess();
            Log.Grew(_logger, added.Count, unit == AddressUnit.IPv4Prefix ? AddressUnitName.Prefixes : AddressUnitName.Addresses, eniId);
            SignalPoolChanged();
            return added.Count > 0;
        }
        catch (CloudException ex)
        {
            NoteGrowFailure(ex);
            return false;
        }
        finally
        {
            lease.Dispose();
        }
    }

    private async Task<bool> CreateEniAsync(AddressUnit unit, int units, CancellationToken cancellationToken)
    {
        if (units <= 0)
        {
            return false;
        }

        NetworkInterface eni;
        try
        {
            eni = await CloudCallAsync("CreateAndAttachEniAsync", () => _cloud.CreateAndAttachEniAsync(new EniCreateRequest(unit, units) { NetworkCardIndex = NetworkCard }, cancellationToken)).ConfigureAwait(false);
        }
        catch (CloudException ex)
        {
            NoteGrowFailure(ex);
            return false;
        }

        lock (_gate)
        {
            // Created with the provider's tags: ours, and nothing to tag.
            _createdHere.Add(eni.Id);
            _tagsEnsured.Add(eni.Id);
        }

        using (var lease = _leases.TryAcquire(eni.Id))
        {
            if (lease is not null)
            {
                if (Datastore.ContainsEni(eni.Id))
                {
                    foreach (var cidr in CidrsOf(eni))
                    {
                        TryAddCidr(eni.Id, cidr);
                    }
                }
                else
                {
                    await AddEniToDatastoreAsync(eni, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        _backoff.NoteSuccess();
        Log.Grew(_logger, units, unit == AddressUnit.IPv4Prefix ? AddressUnitName.NewEniPrefixes : AddressUnitName.NewEniAddresses, eni.Id);
        SignalPoolChanged();
        return true;
    }

    private async Task<bool> ReleaseAsync(ReleaseAction release, CancellationToken cancellationToken)
    {
        using var lease = _leases.TryAcquire(release.EniId);
        if (lease is null)
        {
            return false;
        }

        {
            var removed = new List<IPNetwork>();
            foreach (var cidr in release.Cidrs)
            {
                try
                {
                    Datastore.RemoveCidr(release.EniId, cidr, force: false);
                    removed.Add(cidr);
                }
                catch (DatastoreException)
                {
                    // Taken by a pod since the snapshot: keep it.
                }
            }

            if (removed.Count == 0)
            {
                return false;
            }

            _lastDecrease = _time.GetUtcNow();
            try
            {
                await CloudCallAsync("UnassignAsync", () => _cloud.UnassignAsync(release.EniId, removed, cancellationToken)).ConfigureAwait(false);
                Log.Released(_logger, removed.Count, release.EniId);
            }
            catch (CloudException)
            {
                // Still ours in the cloud: the next reconcile adds the addresses back.
            }

            return true;
        }
    }

    private async Task<bool> DeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        using var lease = _leases.TryAcquire(eniId);
        if (lease is null)
        {
            return false;
        }

        {
            try
            {
                Datastore.RemoveEni(eniId, force: false);
            }
            catch (DatastoreException)
            {
                return false;
            }

            try
            {
                await CloudCallAsync("DetachAndDeleteEniAsync", () => _cloud.DetachAndDeleteEniAsync(eniId, cancellationToken)).ConfigureAwait(false);
                Log.DeletedEni(_logger, eniId);
                await NotifyRemovedAsync(eniId, cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException)
            {
                // Still attached: the next reconcile sees it and adds it back.
            }

            return true;
        }
    }

    private async Task<T> CloudCallAsync<T>(string operation, Func<ValueTask<T>> call)
    {
        Interlocked.Increment(ref _cloudMutations);
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (CloudException ex)
        {
            Log.CloudFailure(_logger, operation, ex.Kind, ex.Message);
            throw;
        }
    }

    private async Task CloudCallAsync(string operation, Func<ValueTask> call)
    {
        await CloudCallAsync<bool>(operation, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    private void NoteGrowFailure(CloudException ex)
    {
        _backoff.NoteFailure(ex.Kind);

        // Let waiting ADDs re-check: they fail now with the reason instead of waiting out the timeout.
        SignalPoolChanged();
    }

    private async ValueTask AddEniToDatastoreAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        if (_eniHook is not null)
        {
            try
            {
                await _eniHook.OnEniAddedAsync(eni, EniRouteTable.For(eni.NetworkCardIndex, eni.DeviceIndex), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Its addresses must not reach pods without the host routes; the next reconcile retries.
                Log.EniHookFailed(_logger, eni.Id, ex.Message);
                return;
            }
        }

        _eniDetails[eni.Id] = eni;
        AddEniToDatastore(eni);
    }

    private async ValueTask NotifyRemovedAsync(string eniId, CancellationToken cancellationToken)
    {
        if (_eniHook is null || !_eniDetails.TryRemove(eniId, out var eni))
        {
            return;
        }

        try
        {
            await _eniHook.OnEniRemovedAsync(eni, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EniHookFailed(_logger, eniId, ex.Message);
        }
    }

    private void AddEniToDatastore(NetworkInterface eni)
    {
        Datastore.AddEni(new EniRegistration(eni.Id, eni.DeviceIndex, eni.IsPrimary, EniRouteTable.For(eni.NetworkCardIndex, eni.DeviceIndex), eni.SubnetId)
        {
            IsTrunk = eni.Kind == EniKind.Trunk,
            IsEfa = eni.Kind == EniKind.Efa,
            IsExcluded = eni.IsExcludedForPodIPs,
        });
        foreach (var cidr in CidrsOf(eni))
        {
            TryAddCidr(eni.Id, cidr);
        }
    }

    private void TryAddCidr(string eniId, IPNetwork cidr)
    {
        try
        {
            Datastore.AddCidr(eniId, cidr);
        }
        catch (DatastoreException)
        {
            // Already known (a reconcile raced the grow that added it).
        }
    }

    private static IEnumerable<IPNetwork> CidrsOf(NetworkInterface eni) =>
        eni.SecondaryIPv4.Where(a => !a.Equals(eni.PrimaryIPv4)).Select(a => new IPNetwork(a, 32)).Concat(eni.IPv4Prefixes);

    private void RestoreUnplaced(IReadOnlyList<AllocationRecord> dropped)
    {
        foreach (var record in dropped)
        {
            Datastore.Restore(record);
        }
    }

    private void Wake()
    {
        TaskCompletionSource wake;
        lock (_gate)
        {
            wake = _wake;
        }

        wake.TrySetResult();
    }

    private void SignalPoolChanged() => _waiters.SignalPoolChanged();
}
