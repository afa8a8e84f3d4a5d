using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// Aligns the datastore with the cloud's view: ENIs attached or detached behind the pool's back, addresses added or
/// removed. Allocations on addresses the cloud dropped are kept unplaced (never handed out again).
/// </summary>
/// <remarks>
/// A view that is empty or lacks the primary ENI is not applied (upstream aborts on an empty list, §2.16): it would
/// force-remove every ENI and strand every pod. An ENI missing from one view stops handing out addresses at once but
/// is force-removed only when the next reconcile still misses it, so one flapping view costs no pod its address. The
/// primary ENI is never removed.
/// </remarks>
internal sealed class CloudReconciler(
    IEniProvider cloud,
    EniMembership membership,
    EniOwnership ownership,
    EniLeases leases,
    PoolActuator actuator,
    AssignWaiters waiters,
    TimeProvider time,
    ILogger logger,
    int networkCard,
    IPoolObserver? observer = null)
{
    private readonly IPoolObserver? _observer = observer;

    // ENIs missing from the last view (removed only when missing twice in a row), and ENIs the cloud marks excluded
    // from pod addresses.
    private readonly Lock _gate = new();
    private readonly HashSet<string> _missingOnce = new(StringComparer.Ordinal);
    private readonly HashSet<string> _cloudExcluded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ignoredInView = new(StringComparer.Ordinal);
    private long _lastReconcileTicks;
    private int _unmanagedEnis;
    private bool _cloudViewApplied;
    private int _metadataOnlyInARow;

    /// <summary>A periodic reconcile that found the instance metadata in agreement with the pool still asks the cloud every
    /// this many times, so changes the metadata does not show (tags, subnet exclusion) are seen.</summary>
    internal const int CloudViewEvery = 10;

    /// <summary>When the cloud's view was last fetched (applied or not).</summary>
    public DateTimeOffset LastReconcile => new(Interlocked.Read(ref _lastReconcileTicks), TimeSpan.Zero);

    /// <summary>ENIs on this card that are not the pool's (no_manage / untagged) in the last applied view.</summary>
    public int UnmanagedEnis => Volatile.Read(ref _unmanagedEnis);

    /// <summary>True when the last applied view marked the ENI excluded from pod addresses.</summary>
    public bool IsExcludedByCloud(string eniId)
    {
        lock (_gate)
        {
            return _cloudExcluded.Contains(eniId);
        }
    }

    /// <summary>Fetches and applies the cloud's view; false (nothing applied) when it is empty or lacks the primary ENI.</summary>
    /// <param name="initializing">At start-up the excluded ENIs' free CIDRs are released later, after the restore.</param>
    public async Task<bool> ReconcileAsync(bool initializing, CancellationToken cancellationToken)
    {
        // The start-up load of the cloud's view is part of initialisation (upstream's nodeInit), not a reconcile.
        var observer = initializing ? null : _observer;
        observer?.ActivityStarted(PoolActivity.Reconcile);
        var applied = false;
        try
        {
            applied = await ReconcileCoreAsync(initializing, observer, cancellationToken).ConfigureAwait(false);
            return applied;
        }
        finally
        {
            observer?.ActivityEnded(PoolActivity.Reconcile, applied);
        }
    }

    private async Task<bool> ReconcileCoreAsync(bool initializing, IPoolObserver? observer, CancellationToken cancellationToken)
    {
        var ds = membership.Datastore;
        if (!initializing && await MetadataAgreesAsync(cancellationToken).ConfigureAwait(false))
        {
            // Upstream's reconcile: the instance metadata says what the pool holds, so the cloud is not asked.
            Interlocked.Exchange(ref _lastReconcileTicks, time.GetUtcNow().UtcTicks);
            await FinishPeriodicAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        IReadOnlyList<NetworkInterface> enis;
        try
        {
            enis = await cloud.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException)
        {
            observer?.Failed(PoolFailure.ReconcileDescribe);
            throw;
        }

        Interlocked.Exchange(ref _lastReconcileTicks, time.GetUtcNow().UtcTicks);
        if (!enis.Any(e => e.IsPrimary))
        {
            Log.ReconcileAborted(logger, networkCard, enis.Count);
            return false;
        }

        var viewHasTags = enis.Any(e => e.Tags.Count > 0);
        var managed = new List<NetworkInterface>();
        var ignored = new List<string>();
        var unmanaged = 0;
        foreach (var eni in enis)
        {
            if (eni.NetworkCardIndex != networkCard || eni.Kind == EniKind.EfaOnly)
            {
                ignored.Add(eni.Id);
                continue;
            }

            if (!ownership.IsManaged(eni, viewHasTags))
            {
                ignored.Add(eni.Id);
                unmanaged++;
                continue;
            }

            managed.Add(eni);
        }

        Volatile.Write(ref _unmanagedEnis, unmanaged);
        lock (_gate)
        {
            _cloudExcluded.Clear();
            _cloudExcluded.UnionWith(managed.Where(e => e.IsExcludedForPodIPs).Select(e => e.Id));
            _ignoredInView.Clear();
            _ignoredInView.UnionWith(ignored);
            _cloudViewApplied = true;
            _metadataOnlyInARow = 0;
        }

        foreach (var eni in managed)
        {
            await ownership.EnsureTagsOnceAsync(eni, cancellationToken).ConfigureAwait(false);
            using var lease = leases.TryAcquire(eni.Id);
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
                if (await membership.AddAsync(eni, cancellationToken).ConfigureAwait(false))
                {
                    observer?.Reconciled(PoolReconcileChange.EniAdded, 1);
                }
                else
                {
                    observer?.Failed(PoolFailure.ReconcileAddEni);
                }

                continue;
            }

            // Also lifts the hold put on an ENI that was missing from the previous view.
            ds.SetExcluded(eni.Id, eni.IsExcludedForPodIPs);
            var cloudCidrs = EniMembership.CidrsOf(eni).ToHashSet();
            var known = ds.GetCidrs(eni.Id);
            foreach (var cidr in known)
            {
                if (!cloudCidrs.Contains(cidr))
                {
                    var dropped = ds.RemoveCidr(eni.Id, cidr, force: true);
                    observer?.Reconciled(PoolReconcileChange.CidrRemoved, 1);
                    if (dropped.Count > 0)
                    {
                        observer?.ForceRemoved(0, dropped.Count);
                    }

                    membership.RestoreUnplaced(dropped);
                }
            }

            foreach (var cidr in cloudCidrs)
            {
                if (!known.Contains(cidr) && membership.TryAddCidr(eni.Id, cidr))
                {
                    observer?.Reconciled(PoolReconcileChange.CidrAdded, 1);
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

            using var lease = leases.TryAcquire(id);
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
                Log.EniMissingOnce(logger, id);
                continue;
            }

            lock (_gate)
            {
                _missingOnce.Remove(id);
            }

            ownership.Forget(id);
            var dropped = ds.RemoveEni(id, force: true);
            observer?.Reconciled(PoolReconcileChange.EniRemoved, 1);
            observer?.ForceRemoved(1, dropped.Count);
            Log.EniVanished(logger, id, dropped.Count);
            membership.RestoreUnplaced(dropped);
            await membership.NotifyRemovedAsync(id, cancellationToken).ConfigureAwait(false);
        }

        if (initializing)
        {
            waiters.SignalPoolChanged();
        }
        else
        {
            await FinishPeriodicAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    // What every periodic reconcile ends with, whichever view it trusted.
    private async Task FinishPeriodicAsync(CancellationToken cancellationToken)
    {
        await ReleaseExcludedFreeCidrsAsync(cancellationToken).ConfigureAwait(false);

        // Upstream does this at start only (nodeInit step 12); here also later, so the /32s an ENI held in prefix
        // fallback go back once it has prefixes again and their pods have left.
        await actuator.ReleaseMismatchedCidrsAsync(cancellationToken).ConfigureAwait(false);
        waiters.SignalPoolChanged();
    }

    // True when the instance metadata lists exactly the pool's ENIs with exactly its CIDRs (ENIs the last cloud view
    // left out skipped): nothing for a cloud view to change. Any difference, an ENI missing once, no metadata, no cloud
    // view applied yet, or every CloudViewEvery-th time: false, and the cloud is asked and trusted (upstream §2.16).
    private async Task<bool> MetadataAgreesAsync(CancellationToken cancellationToken)
    {
        if (cloud is not IInstanceEniMetadata metadata)
        {
            return false;
        }

        lock (_gate)
        {
            if (!_cloudViewApplied || _missingOnce.Count > 0 || _metadataOnlyInARow + 1 >= CloudViewEvery)
            {
                return false;
            }
        }

        var view = await metadata.ReadAttachedEnisAsync(cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return false;
        }

        var ds = membership.Datastore;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var eni in view)
            {
                if (eni.NetworkCardIndex != networkCard || _ignoredInView.Contains(eni.Id))
                {
                    continue;
                }

                if (!ds.ContainsEni(eni.Id) || !ds.GetCidrs(eni.Id).ToHashSet().SetEquals(EniMembership.CidrsOf(eni)))
                {
                    return false;
                }

                seen.Add(eni.Id);
            }

            if (ds.GetEniStates().Any(state => !seen.Contains(state.Id)))
            {
                return false;
            }

            _metadataOnlyInARow++;
        }

        return true;
    }

    /// <summary>Returns the free CIDRs of ENIs the cloud excludes from pod addresses (see <see cref="PoolActuator.ReleaseExcludedFreeCidrsAsync"/>).</summary>
    public Task ReleaseExcludedFreeCidrsAsync(CancellationToken cancellationToken) =>
        actuator.ReleaseExcludedFreeCidrsAsync(IsExcludedByCloud, cancellationToken);
}
