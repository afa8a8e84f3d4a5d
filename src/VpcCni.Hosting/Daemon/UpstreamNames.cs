using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>Upstream's <c>fn</c> label values for the pool's events (aws-node's function names).</summary>
internal static class UpstreamNames
{
    public static string Of(PoolActivity activity) => activity switch
    {
        PoolActivity.Initialize => "nodeInit",
        PoolActivity.Grow => "increaseDatastorePool",
        PoolActivity.Shrink => "decreaseDatastorePool",
        PoolActivity.Reconcile => "nodeIPPoolReconcile",
        _ => activity.ToString(),
    };

    public static string Of(PoolFailure failure) => failure switch
    {
        PoolFailure.CreateEni => "increaseIPPoolAllocENI",
        PoolFailure.AssignAddresses => "increaseIPPoolAllocIPAddressesFailed",
        PoolFailure.SetupEni => "increaseIPPoolsetupENIFailed",
        PoolFailure.DeleteEni => "decreaseIPPoolFreeENIFailed",
        PoolFailure.ReleaseAddresses => "decreaseIPPool",
        PoolFailure.ReconcileDescribe => "reconcileFailedGetENIs",
        PoolFailure.ReconcileAddEni => "eniReconcileAdd",
        _ => failure.ToString(),
    };

    public static string Of(PoolReconcileChange change) => change switch
    {
        PoolReconcileChange.EniAdded => "eniReconcileAdd",
        PoolReconcileChange.EniRemoved => "eniReconcileDel",
        PoolReconcileChange.CidrRemoved => "eniIPPoolReconcileDel",
        PoolReconcileChange.CidrAdded => "eniDataStorePoolReconcileAdd",
        _ => change.ToString(),
    };
}
