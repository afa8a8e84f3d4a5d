namespace VpcCni.Ipam;

/// <summary>What the pool is busy with (upstream's names in brackets).</summary>
public enum PoolActivity
{
    /// <summary>Start-up: limits, the cloud's view, the restore, the first round (nodeInit).</summary>
    Initialize,

    /// <summary>Adding addresses, prefixes or ENIs (increaseDatastorePool).</summary>
    Grow,

    /// <summary>Returning CIDRs or deleting an ENI (decreaseDatastorePool).</summary>
    Shrink,

    /// <summary>Aligning the datastore with the cloud's view (nodeIPPoolReconcile).</summary>
    Reconcile,
}
