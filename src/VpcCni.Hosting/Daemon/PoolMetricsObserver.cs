using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>Feeds upstream's pool metrics (errors, activities in progress, reconcile changes, force removals, node initialisation time) from the pool's events.</summary>
internal sealed class PoolMetricsObserver(IpamdMetrics metrics, TimeProvider time) : IPoolObserver
{
    private long _initializeStarted;

    public void ActivityStarted(PoolActivity activity)
    {
        if (activity == PoolActivity.Initialize)
        {
            Interlocked.Exchange(ref _initializeStarted, time.GetTimestamp());
        }

        metrics.ActionsInProgress.Add(1, UpstreamNames.Of(activity));
    }

    public void ActivityEnded(PoolActivity activity, bool succeeded)
    {
        metrics.ActionsInProgress.Add(-1, UpstreamNames.Of(activity));
        if (activity == PoolActivity.Initialize)
        {
            metrics.NodeInitialization.Record(time.GetElapsedTime(Interlocked.Read(ref _initializeStarted)).TotalSeconds,
                new KeyValuePair<string, object?>("success", succeeded ? "true" : "false"));
        }
    }

    public void Failed(PoolFailure failure) => metrics.IpamdErrors.Add(1, UpstreamNames.Of(failure));

    public void Reconciled(PoolReconcileChange change, int count) => metrics.ReconcileChanges.Add(count, UpstreamNames.Of(change));

    public void ForceRemoved(int enis, int addresses)
    {
        metrics.ForceRemovedEnis.Add(enis);
        metrics.ForceRemovedIps.Add(addresses);
    }
}
