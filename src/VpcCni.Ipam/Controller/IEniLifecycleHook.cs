using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// Lets the host datapath follow the pool's ENIs: an ENI's routes and rules must exist before any of its addresses
/// is handed to a pod (upstream's setupENI), and its rules go when it leaves.
/// </summary>
public interface IEniLifecycleHook
{
    /// <summary>Called before the ENI's addresses enter the pool. Throwing keeps the ENI out; the next reconcile retries.</summary>
    ValueTask OnEniAddedAsync(NetworkInterface eni, int routeTableId, CancellationToken cancellationToken);

    /// <summary>Called after the ENI left the pool (deleted by the pool, or detached behind its back).</summary>
    ValueTask OnEniRemovedAsync(NetworkInterface eni, CancellationToken cancellationToken);
}
