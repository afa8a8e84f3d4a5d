using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>
/// A fleet node's place as the daemon reads it from the API server's node list: its index by creation time and the
/// number of nodes registered now (the list grows as nodes start; each node sees it at once, as a watch would).
/// </summary>
internal sealed class NodeListPlace(Run run, Node node) : IFleetMembership
{
    public FleetPosition? Current => node.Rank is { } rank ? new FleetPosition(rank, run.NodesJoined) : null;
}
