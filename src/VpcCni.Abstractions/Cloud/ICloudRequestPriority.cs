namespace VpcCni.Cloud;

/// <summary>
/// Tells a cloud client whether its requests may wait: true while nobody waits for what they bring (topping up a warm
/// pool, a periodic reconcile), false while a pod's ADD waits for an address and none is ready. A client that shares an
/// account's request budget with other nodes lets requests that may wait stand aside (docs/ec2-budget.md).
/// </summary>
public interface ICloudRequestPriority
{
    /// <summary>True when the requests sent now may wait for the account's spare capacity.</summary>
    bool CanWait { get; }
}
