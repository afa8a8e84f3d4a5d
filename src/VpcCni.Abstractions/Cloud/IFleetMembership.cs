namespace VpcCni.Cloud;

/// <summary>
/// This node's place among the nodes that share one cloud account's request budget, as every node can read it from a
/// shared source (the Kubernetes API server's node list): the nodes ordered the same way by all of them, and this node's
/// index in that order. A client that knows it sends on its own slots of a schedule every node derives alike, so a fleet
/// that needs the account at the same moment stays under the account's limits without a central operator
/// (docs/ec2-budget.md).
/// </summary>
public interface IFleetMembership
{
    /// <summary>This node's place now; null while unknown (the client then budgets as a lone node).</summary>
    FleetPosition? Current { get; }
}
