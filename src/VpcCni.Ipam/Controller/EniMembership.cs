using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// Which cloud ENIs the datastore holds: an ENI's addresses enter the pool only after the host hook set up its
/// routes, and the hook hears when the ENI leaves.
/// </summary>
internal sealed class EniMembership(PoolDatastore datastore, IEniLifecycleHook? hook, ILogger logger, PrefixFallback? fallback = null)
{
    private readonly ConcurrentDictionary<string, NetworkInterface> _admitted = new(StringComparer.Ordinal);

    public PoolDatastore Datastore => datastore;

    /// <summary>The pool addresses of a cloud ENI: its secondary addresses (not its primary) and prefixes.</summary>
    public static IEnumerable<IPNetwork> CidrsOf(NetworkInterface eni) =>
        eni.SecondaryIPv4.Where(a => !a.Equals(eni.PrimaryIPv4)).Select(a => new IPNetwork(a, 32)).Concat(eni.IPv4Prefixes);

    /// <summary>Adds the ENI and its addresses once the host hook accepted it; a failing hook leaves it out (false; the next reconcile retries).</summary>
    public async ValueTask<bool> AddAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        if (hook is not null)
        {
            try
            {
                await hook.OnEniAddedAsync(eni, EniRouteTable.For(eni.NetworkCardIndex, eni.DeviceIndex), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Its addresses must not reach pods without the host routes; the next reconcile retries.
                Log.EniHookFailed(logger, eni.Id, ex.Message);
                return false;
            }
        }

        _admitted[eni.Id] = eni;
        datastore.AddEni(new EniRegistration(eni.Id, eni.DeviceIndex, eni.IsPrimary, EniRouteTable.For(eni.NetworkCardIndex, eni.DeviceIndex), eni.SubnetId)
        {
            IsTrunk = eni.Kind == EniKind.Trunk,
            IsEfa = eni.Kind == EniKind.Efa,
            IsExcluded = eni.IsExcludedForPodIPs,
        });
        if (fallback?.IsInFallback(eni.Id) == true)
        {
            // Created with /32s because no /28 was free: they serve pods (a reconcile may add the ENI before the creator).
            datastore.SetAddressFallback(eni.Id, true);
        }

        foreach (var cidr in CidrsOf(eni))
        {
            TryAddCidr(eni.Id, cidr);
        }

        return true;
    }

    /// <summary>Tells the host hook the ENI left the datastore (never fatal).</summary>
    public async ValueTask NotifyRemovedAsync(string eniId, CancellationToken cancellationToken)
    {
        fallback?.Forget(eniId);
        if (hook is null || !_admitted.TryRemove(eniId, out var eni))
        {
            return;
        }

        try
        {
            await hook.OnEniRemovedAsync(eni, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EniHookFailed(logger, eniId, ex.Message);
        }
    }

    /// <summary>Adds a CIDR; false when the datastore already had it (a reconcile raced the grow that added it).</summary>
    public bool TryAddCidr(string eniId, IPNetwork cidr)
    {
        try
        {
            datastore.AddCidr(eniId, cidr);
            return true;
        }
        catch (DatastoreException)
        {
            return false;
        }
    }

    /// <summary>Keeps allocations whose address left the pool, unplaced: their pods are presumed live.</summary>
    public void RestoreUnplaced(IReadOnlyList<AllocationRecord> dropped)
    {
        foreach (var record in dropped)
        {
            datastore.Restore(record);
        }
    }
}
