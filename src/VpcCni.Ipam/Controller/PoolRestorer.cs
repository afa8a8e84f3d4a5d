using Microsoft.Extensions.Logging;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam;

/// <summary>
/// Start-up: puts the durable record's allocations back into a datastore that already holds the cloud's ENIs, drops
/// only those whose pod is positively gone, and keeps recent releases cooling down.
/// </summary>
internal sealed class PoolRestorer(DurableAllocationStore store, IPodLivenessEvidence? liveness, ILogger logger, TimeProvider timeProvider)
{
    /// <summary>Restores into <paramref name="datastore"/>, then rewrites the record to what was restored.</summary>
    public async Task RestoreAsync(PoolDatastore datastore, TimeSpan cooldown, CancellationToken cancellationToken)
    {
        var loaded = store.Load();
        foreach (var problem in loaded.Problems)
        {
            Log.RecordProblem(logger, problem);
        }

        if (!loaded.Complete)
        {
            Log.RecordIncomplete(logger);
        }

        foreach (var record in loaded.Allocations)
        {
            if (liveness?.IsPodGone(record) == true)
            {
                Log.DroppedGonePod(logger, record.Key, record.Address);
                try
                {
                    await liveness.OnGonePodDroppedAsync(record, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.GonePodCleanupFailed(logger, record.Key, record.Address, ex.Message);
                }

                // Released as by a DEL: the address cools down before another pod gets it (a sandbox the evidence
                // missed, or a terminating one, must not share it at once).
                datastore.HoldInCooldown(record.Address, timeProvider.GetUtcNow() + cooldown);
                continue;
            }

            if (!datastore.Restore(record))
            {
                Log.RestoreConflict(logger, record.Key, record.Address);
            }
        }

        // Releases made shortly before the restart are still cooling: a terminating pod may still use the address.
        foreach (var (address, releasedAt) in loaded.Releases)
        {
            var until = DateTimeOffset.UnixEpoch.AddTicks(releasedAt / 100) + cooldown;
            datastore.HoldInCooldown(address, until);
        }

        foreach (var unplaced in datastore.GetUnplacedAllocations())
        {
            Log.UnplacedAllocation(logger, unplaced.Key, unplaced.Address);
        }

        await store.ReplaceAllAsync(datastore.GetAllocations(), cancellationToken).ConfigureAwait(false);
    }
}
