using System.Net;
using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// Carries out the policy's actions against the cloud and the datastore: top up an ENI, create one, release CIDRs,
/// delete an ENI. Each action holds its ENI's lease; an expected cloud failure comes back as an
/// <see cref="ActuationOutcome"/>, anything else propagates.
/// </summary>
internal sealed class PoolActuator(
    IEniProvider cloud,
    EniMembership membership,
    EniOwnership ownership,
    EniLeases leases,
    ErrorBackoff backoff,
    AssignWaiters waiters,
    TimeProvider time,
    ILogger logger,
    int networkCard,
    AddressUnit unit,
    PrefixFallback? fallback = null,
    int cidrsPerEni = 0,
    IPoolObserver? observer = null)
{
    private readonly PrefixFallback _fallback = fallback ?? new PrefixFallback(time, TimeSpan.FromSeconds(120));

    private long _cloudMutations;
    private long _lastDecreaseTicks = long.MinValue;

    /// <summary>Mutating cloud calls made (create, assign, unassign, delete), failed ones included.</summary>
    public long CloudMutations => Interlocked.Read(ref _cloudMutations);

    /// <summary>When the pool last released CIDRs (the policy's decrease throttle).</summary>
    public DateTimeOffset? LastDecrease
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastDecreaseTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    private PoolDatastore Datastore => membership.Datastore;

    /// <summary>The /32 fallback of prefix delegation (ENIs that could get no /28).</summary>
    public PrefixFallback Fallback => _fallback;

    /// <summary>Adds <see cref="GrowAction.Units"/> to the ENI, or creates a new ENI with them.</summary>
    /// <param name="deferCapacityFailure">A subnet-full or no-/28 failure is returned without starting the capacity
    /// backoff: the caller still tries other ENIs or a new ENI (upstream with subnet discovery) and records the failure
    /// with <see cref="GrowthFailed"/> if none succeeds.</param>
    public async Task<ActuationOutcome> GrowAsync(GrowAction action, CancellationToken cancellationToken, bool deferCapacityFailure = false)
    {
        if (action.IsNewEni)
        {
            return await CreateEniAsync(action.Units, cancellationToken).ConfigureAwait(false);
        }

        var eniId = action.EniId!;
        using var lease = leases.TryAcquire(eniId);
        if (lease is null)
        {
            return ActuationOutcome.NotDone;
        }

        if (unit == AddressUnit.IPv4Prefix && _fallback.IsInFallback(eniId) && !_fallback.ProbeDue(eniId))
        {
            // No /28 was free at the last try: /32s until the next probe, without a call EC2 would refuse.
            return await GrowWithAddressesAsync(eniId, action.Units, deferCapacityFailure, cancellationToken).ConfigureAwait(false);
        }

        var result = await CallAsync("AssignAsync", PoolFailure.AssignAddresses, () => cloud.AssignAsync(eniId, unit, action.Units, cancellationToken)).ConfigureAwait(false);
        if (result.Error is { } error && action.Units > 1 && error is not (CloudErrorKind.Throttled or CloudErrorKind.EniAddressLimitExceeded))
        {
            // Upstream: a failed bulk request is retried for a single unit (the subnet may still have a few addresses or
            // one /28); not after PrivateIpAddressLimitExceeded, nor (VpcCni) after throttling, which one more call worsens.
            result = await CallAsync("AssignAsync", PoolFailure.AssignAddresses, () => cloud.AssignAsync(eniId, unit, 1, cancellationToken)).ConfigureAwait(false);
        }

        if (result.Error == CloudErrorKind.EniAddressLimitExceeded)
        {
            // Our view is out of date; the lease ends before the caller reconciles.
            return new ActuationOutcome(ActuationStatus.EniFull, result.Error);
        }

        if (result.Error == CloudErrorKind.NoFreePrefix && unit == AddressUnit.IPv4Prefix)
        {
            // InsufficientCidrBlocks: the subnet has addresses but no free aligned /28. Pods keep getting addresses from
            // /32s on this ENI; a prefix is tried again after the backoff interval.
            var subnetId = SubnetOf(eniId);
            if (_fallback.Enter(eniId, subnetId))
            {
                Log.PrefixFallbackEntered(logger, eniId, subnetId ?? "?", result.Message ?? "InsufficientCidrBlocks");
            }
            else
            {
                Log.PrefixFallbackProbeFailed(logger, eniId);
            }

            Datastore.SetAddressFallback(eniId, true);
            return await GrowWithAddressesAsync(eniId, action.Units, deferCapacityFailure, cancellationToken).ConfigureAwait(false);
        }

        if (result.Error is { } failed)
        {
            return Failed(failed, result.Message, deferCapacityFailure);
        }

        var added = result.Value!;
        AddCidrs(eniId, added);

        if (unit == AddressUnit.IPv4Prefix && added.Count > 0)
        {
            if (_fallback.Return(eniId))
            {
                await ReturnToPrefixesAsync(eniId, cancellationToken).ConfigureAwait(false);
            }

            await ReturnSubnetAsync(SubnetOf(eniId), cancellationToken).ConfigureAwait(false);
        }

        backoff.NoteSuccess();
        Log.Grew(logger, added.Count, unit == AddressUnit.IPv4Prefix ? AddressUnitName.Prefixes : AddressUnitName.Addresses, eniId);
        waiters.SignalPoolChanged();
        return added.Count > 0 ? ActuationOutcome.Done : ActuationOutcome.NotDone;
    }

    /// <summary>A failed growth; a capacity refusal the caller will try elsewhere first is not recorded yet.</summary>
    private ActuationOutcome Failed(CloudErrorKind failed, string? message, bool deferCapacityFailure) =>
        deferCapacityFailure && IsCapacity(failed)
            ? new ActuationOutcome(ActuationStatus.GrowthFailed, failed, message)
            : GrowthFailed(failed, message);

    private void AddCidrs(string eniId, IReadOnlyList<IPNetwork> added)
    {
        foreach (var cidr in added)
        {
            membership.TryAddCidr(eniId, cidr);
        }
    }

    /// <summary>Prefix delegation without a free /28: grows the ENI (lease held) with /32s, a prefix's worth capped by its free slots.</summary>
    private async Task<ActuationOutcome> GrowWithAddressesAsync(string eniId, int prefixes, bool deferCapacityFailure, CancellationToken cancellationToken)
    {
        var count = FallbackAddressCount(prefixes, Datastore.GetEniStates().FirstOrDefault(e => e.Id == eniId)?.AllCidrs ?? 0);
        if (count <= 0)
        {
            return ActuationOutcome.NotDone;
        }

        var result = await CallAsync("AssignAsync", PoolFailure.AssignAddresses, () => cloud.AssignAsync(eniId, AddressUnit.SecondaryIPv4, count, cancellationToken)).ConfigureAwait(false);
        if (result.Error is { } error && count > 1 && error is not (CloudErrorKind.Throttled or CloudErrorKind.EniAddressLimitExceeded))
        {
            result = await CallAsync("AssignAsync", PoolFailure.AssignAddresses, () => cloud.AssignAsync(eniId, AddressUnit.SecondaryIPv4, 1, cancellationToken)).ConfigureAwait(false);
        }

        if (result.Error == CloudErrorKind.EniAddressLimitExceeded)
        {
            return new ActuationOutcome(ActuationStatus.EniFull, result.Error);
        }

        if (result.Error is { } failed)
        {
            return Failed(failed, result.Message, deferCapacityFailure);
        }

        var added = result.Value!;
        AddCidrs(eniId, added);

        backoff.NoteSuccess();
        Log.Grew(logger, added.Count, AddressUnitName.FallbackAddresses, eniId);
        waiters.SignalPoolChanged();
        return added.Count > 0 ? ActuationOutcome.Done : ActuationOutcome.NotDone;
    }

    /// <summary>
    /// The ENI got a /28 again (lease held): its /32s stop serving new pods, and the free ones go back to the cloud now;
    /// those still in use go back once their pods leave (the reconcile's release of other-mode CIDRs).
    /// </summary>
    private async Task ReturnToPrefixesAsync(string eniId, CancellationToken cancellationToken)
    {
        Datastore.SetAddressFallback(eniId, false);
        var free = Datastore.GetEniStates().FirstOrDefault(e => e.Id == eniId)?.MismatchedFreeCidrs ?? [];
        var removed = RemoveFree(eniId, free);
        Log.PrefixFallbackReturned(logger, eniId, removed.Count);
        if (removed.Count > 0)
        {
            // On failure they stay on the ENI in the cloud; the next reconcile adds them back (unused) and returns them.
            await CallAsync("UnassignAsync", PoolFailure.ReleaseAddresses, () => Ok(cloud.UnassignAsync(eniId, removed, cancellationToken))).ConfigureAwait(false);
        }
    }

    /// <summary>A /28 was granted in the subnet: its other ENIs in fallback return to prefixes too (each under its lease;
    /// a busy one stays in fallback until its own next growth).</summary>
    private async Task ReturnSubnetAsync(string? subnetId, CancellationToken cancellationToken)
    {
        foreach (var other in _fallback.InSubnet(subnetId))
        {
            using var lease = leases.TryAcquire(other);
            if (lease is not null && _fallback.Return(other))
            {
                await ReturnToPrefixesAsync(other, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>/32s in place of <paramref name="prefixes"/> prefixes: 16 each, within the ENI's free slots.</summary>
    private int FallbackAddressCount(int prefixes, int usedSlots)
    {
        var wanted = Math.Max(1, prefixes) * UpstreamPoolPolicy.AddressesPerPrefix;
        return cidrsPerEni > 0 ? Math.Min(wanted, cidrsPerEni - usedSlots) : wanted;
    }

    private string? SubnetOf(string eniId) => Datastore.GetEniStates().FirstOrDefault(e => e.Id == eniId)?.SubnetId;

    internal static bool IsCapacity(CloudErrorKind kind) => kind is CloudErrorKind.SubnetFull or CloudErrorKind.NoFreePrefix;

    /// <summary>Creates and attaches a new ENI with <paramref name="units"/> addresses or prefixes.</summary>
    public async Task<ActuationOutcome> CreateEniAsync(int units, CancellationToken cancellationToken)
    {
        if (units <= 0)
        {
            return ActuationOutcome.NotDone;
        }

        var result = await CallAsync("CreateAndAttachEniAsync", PoolFailure.CreateEni, () => cloud.CreateAndAttachEniAsync(new EniCreateRequest(unit, units) { NetworkCardIndex = networkCard }, cancellationToken)).ConfigureAwait(false);
        var addressFallback = false;
        if (result.Error == CloudErrorKind.NoFreePrefix && unit == AddressUnit.IPv4Prefix)
        {
            // No subnet the provider may use has a free /28: a new ENI with /32s still serves pods; its next growth
            // after the backoff interval tries a prefix again.
            var reason = result.Message;
            var count = FallbackAddressCount(units, 0);
            result = await CallAsync("CreateAndAttachEniAsync", PoolFailure.CreateEni, () => cloud.CreateAndAttachEniAsync(
                new EniCreateRequest(AddressUnit.SecondaryIPv4, count) { NetworkCardIndex = networkCard }, cancellationToken)).ConfigureAwait(false);
            if (result.Error is null)
            {
                addressFallback = true;
                _fallback.Enter(result.Value!.Id, result.Value.SubnetId);
                Log.PrefixFallbackEntered(logger, result.Value.Id, result.Value.SubnetId, reason ?? "InsufficientCidrBlocks");
            }
        }

        if (result.Error is { } failed)
        {
            return GrowthFailed(failed, result.Message);
        }

        var eni = result.Value!;
        ownership.NoteCreatedHere(eni.Id);
        using (var lease = leases.TryAcquire(eni.Id))
        {
            // Busy: a reconcile is adding it right now.
            if (lease is not null)
            {
                if (Datastore.ContainsEni(eni.Id))
                {
                    foreach (var cidr in EniMembership.CidrsOf(eni))
                    {
                        membership.TryAddCidr(eni.Id, cidr);
                    }

                    if (addressFallback)
                    {
                        Datastore.SetAddressFallback(eni.Id, true);
                    }
                }
                else if (!await membership.AddAsync(eni, cancellationToken).ConfigureAwait(false))
                {
                    observer?.Failed(PoolFailure.SetupEni);
                }
            }
        }

        if (!addressFallback && unit == AddressUnit.IPv4Prefix && eni.IPv4Prefixes.Count > 0)
        {
            await ReturnSubnetAsync(eni.SubnetId, cancellationToken).ConfigureAwait(false);
        }

        backoff.NoteSuccess();
        Log.Grew(logger, addressFallback ? eni.SecondaryIPv4.Count : units, addressFallback ? AddressUnitName.NewEniFallbackAddresses
            : unit == AddressUnit.IPv4Prefix ? AddressUnitName.NewEniPrefixes : AddressUnitName.NewEniAddresses, eni.Id);
        waiters.SignalPoolChanged();
        return ActuationOutcome.Done;
    }

    /// <summary>Returns the action's CIDRs that are still free to the cloud.</summary>
    public async Task<ActuationOutcome> ReleaseAsync(ReleaseAction release, CancellationToken cancellationToken)
    {
        using var lease = leases.TryAcquire(release.EniId);
        if (lease is null)
        {
            return ActuationOutcome.NotDone;
        }

        // A CIDR taken by a pod since the snapshot is kept.
        var removed = RemoveFree(release.EniId, release.Cidrs);
        if (removed.Count == 0)
        {
            return ActuationOutcome.NotDone;
        }

        Interlocked.Exchange(ref _lastDecreaseTicks, time.GetUtcNow().UtcTicks);
        var result = await CallAsync("UnassignAsync", PoolFailure.ReleaseAddresses, () => Ok(cloud.UnassignAsync(release.EniId, removed, cancellationToken))).ConfigureAwait(false);
        if (result.Error is { } failed)
        {
            // Still ours in the cloud: the next reconcile adds the addresses back.
            return new ActuationOutcome(ActuationStatus.CloudBehind, failed);
        }

        Log.Released(logger, removed.Count, release.EniId);
        return ActuationOutcome.Done;
    }

    /// <summary>Detaches and deletes an ENI no pod uses.</summary>
    public async Task<ActuationOutcome> DeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        using var lease = leases.TryAcquire(eniId);
        if (lease is null)
        {
            return ActuationOutcome.NotDone;
        }

        try
        {
            Datastore.RemoveEni(eniId, force: false);
        }
        catch (DatastoreException)
        {
            // In use since the snapshot.
            return ActuationOutcome.NotDone;
        }

        var result = await CallAsync("DetachAndDeleteEniAsync", PoolFailure.DeleteEni, () => Ok(cloud.DetachAndDeleteEniAsync(eniId, cancellationToken))).ConfigureAwait(false);
        if (result.Error is { } failed)
        {
            // Still attached: the next reconcile sees it and adds it back.
            return new ActuationOutcome(ActuationStatus.CloudBehind, failed);
        }

        Log.DeletedEni(logger, eniId);
        await membership.NotifyRemovedAsync(eniId, cancellationToken).ConfigureAwait(false);
        return ActuationOutcome.Done;
    }

    /// <summary>
    /// Upstream §2.14: an ENI whose subnet is excluded gives its unassigned CIDRs back (upstream at init; here also on
    /// each reconcile, so CIDRs freed by pods that left go back too instead of staying idle on the ENI).
    /// </summary>
    public async Task ReleaseExcludedFreeCidrsAsync(Func<string, bool> excludedByCloud, CancellationToken cancellationToken)
    {
        foreach (var eni in Datastore.GetEniStates())
        {
            if (!eni.IsExcluded || !excludedByCloud(eni.Id) || eni.FreeableCidrs.Count == 0)
            {
                continue;
            }

            using var lease = leases.TryAcquire(eni.Id);
            if (lease is null)
            {
                continue;
            }

            // Taken since the snapshot cannot happen while excluded, but never force.
            var removed = RemoveFree(eni.Id, eni.FreeableCidrs);
            if (removed.Count == 0)
            {
                continue;
            }

            // On failure the CIDRs are still on the ENI in the cloud: the next reconcile adds them back (excluded) and tries again.
            var result = await CallAsync("UnassignAsync", PoolFailure.ReleaseAddresses, () => Ok(cloud.UnassignAsync(eni.Id, removed, cancellationToken))).ConfigureAwait(false);
            if (result.Error is null)
            {
                Log.ExcludedCidrsReleased(logger, eni.Id, removed.Count);
            }
        }
    }

    /// <summary>Upstream nodeInit step 12: after a mode switch, give back the other mode's unused CIDRs.</summary>
    public async Task ReleaseMismatchedCidrsAsync(CancellationToken cancellationToken)
    {
        foreach (var eni in Datastore.GetEniStates())
        {
            if (eni.MismatchedFreeCidrs.Count == 0)
            {
                continue;
            }

            using var lease = leases.TryAcquire(eni.Id);
            if (lease is null)
            {
                continue;
            }

            var removed = RemoveFree(eni.Id, eni.MismatchedFreeCidrs);

            // A failure leaves them on the ENI in the cloud; the reconcile's view keeps them out of the pool.
            await CallAsync("UnassignAsync", PoolFailure.ReleaseAddresses, () => Ok(cloud.UnassignAsync(eni.Id, removed, cancellationToken))).ConfigureAwait(false);
        }
    }

    private List<IPNetwork> RemoveFree(string eniId, IReadOnlyList<IPNetwork> cidrs)
    {
        var removed = new List<IPNetwork>();
        foreach (var cidr in cidrs)
        {
            try
            {
                Datastore.RemoveCidr(eniId, cidr, force: false);
                removed.Add(cidr);
            }
            catch (DatastoreException)
            {
                // In use since the snapshot: keep it.
            }
        }

        return removed;
    }

    /// <summary>
    /// Records a failed growth (inside an action: while its lease is still held); waiting ADDs re-check and fail now
    /// with the reason instead of waiting out their timeout.
    /// </summary>
    public ActuationOutcome GrowthFailed(CloudErrorKind error, string? message = null)
    {
        backoff.NoteFailure(error, message);
        waiters.SignalPoolChanged();
        return new ActuationOutcome(ActuationStatus.GrowthFailed, error, message);
    }

    private async Task<CloudResult<T>> CallAsync<T>(string operation, PoolFailure failure, Func<ValueTask<T>> call)
    {
        Interlocked.Increment(ref _cloudMutations);
        try
        {
            return new CloudResult<T>(await call().ConfigureAwait(false), null);
        }
        catch (CloudException ex)
        {
            observer?.Failed(failure);
            Log.CloudFailure(logger, operation, ex.Kind, ex.Message);
            return new CloudResult<T>(default, ex.Kind, ex.Message);
        }
    }

    private static async ValueTask<bool> Ok(ValueTask call)
    {
        await call.ConfigureAwait(false);
        return true;
    }

    private readonly record struct CloudResult<T>(T? Value, CloudErrorKind? Error, string? Message = null);
}
