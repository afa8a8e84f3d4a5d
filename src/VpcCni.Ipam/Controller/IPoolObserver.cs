namespace VpcCni.Ipam;

/// <summary>
/// Hears what the pool does, for a host's metrics: activities starting and ending, failures, what a reconcile changed.
/// Called inline on the pool's threads: keep it cheap and never throw.
/// </summary>
public interface IPoolObserver
{
    /// <summary>An activity began (activities may overlap: growth runs per ENI).</summary>
    void ActivityStarted(PoolActivity activity);

    /// <summary>An activity ended; <paramref name="succeeded"/> is false when it threw or changed nothing it meant to.</summary>
    void ActivityEnded(PoolActivity activity, bool succeeded);

    /// <summary>A step of the pool failed (the pool carries on; the next round or reconcile retries).</summary>
    void Failed(PoolFailure failure);

    /// <summary>A reconcile with the cloud changed the datastore by <paramref name="count"/> items of this kind.</summary>
    void Reconciled(PoolReconcileChange change, int count);

    /// <summary>A reconcile removed ENIs or CIDRs the cloud no longer lists, together with <paramref name="addresses"/> assigned addresses.</summary>
    void ForceRemoved(int enis, int addresses);
}
