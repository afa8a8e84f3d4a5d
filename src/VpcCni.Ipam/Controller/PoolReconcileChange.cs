namespace VpcCni.Ipam;

/// <summary>What a reconcile with the cloud changed (upstream's <c>awscni_reconcile_count</c> function in brackets).</summary>
public enum PoolReconcileChange
{
    /// <summary>An ENI attached behind the pool's back was added (eniReconcileAdd).</summary>
    EniAdded,

    /// <summary>An ENI detached behind the pool's back was removed (eniReconcileDel).</summary>
    EniRemoved,

    /// <summary>A CIDR the cloud no longer lists was removed (eniIPPoolReconcileDel).</summary>
    CidrRemoved,

    /// <summary>A CIDR the cloud lists and the datastore lacked was added (eniDataStorePoolReconcileAdd).</summary>
    CidrAdded,
}
