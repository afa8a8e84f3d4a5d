namespace VpcCni.Ipam;

/// <summary>A failed pool step (upstream's <c>awscni_ipamd_error_count</c> function in brackets).</summary>
public enum PoolFailure
{
    /// <summary>Creating or attaching a new ENI failed (increaseIPPoolAllocENI).</summary>
    CreateEni,

    /// <summary>Assigning addresses or prefixes to an ENI failed (increaseIPPoolAllocIPAddressesFailed).</summary>
    AssignAddresses,

    /// <summary>The host could not set up a new ENI, so it stays out of the pool (increaseIPPoolsetupENIFailed).</summary>
    SetupEni,

    /// <summary>Detaching or deleting an unused ENI failed (decreaseIPPoolFreeENIFailed).</summary>
    DeleteEni,

    /// <summary>Returning CIDRs to the cloud failed (decreaseIPPool).</summary>
    ReleaseAddresses,

    /// <summary>The cloud's list of the instance's ENIs could not be fetched (reconcileFailedGetENIs).</summary>
    ReconcileDescribe,

    /// <summary>An ENI a reconcile found could not be set up on the host (eniReconcileAdd).</summary>
    ReconcileAddEni,
}
