using Google.Protobuf;
using VpcCni.Hosting.Plugin.Wire;
using Generated = VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The plugin's wire records and the generated protobuf messages, field by field: the
/// <c>VPC_CNI_PLUGIN_GRPC_CLIENT=grpcnet</c> fallback calls the daemon with the generated clients, the rest of the
/// plugin sees records. Reached only when <see cref="GrpcNetFallback.IsAvailable"/>, so the default plugin build links
/// no Google.Protobuf.
/// </summary>
internal static class GrpcNetMessageMapping
{
    public static Generated.AddNetworkRequest ToGenerated(AddNetworkRequest message) => new()
    {
        ClientVersion = message.ClientVersion,
        K8SPODNAME = message.K8SPODNAME,
        K8SPODNAMESPACE = message.K8SPODNAMESPACE,
        K8SPODINFRACONTAINERID = message.K8SPODINFRACONTAINERID,
        Netns = message.Netns,
        IfName = message.IfName,
        NetworkName = message.NetworkName,
        ContainerID = message.ContainerID,
        RequiresMultiNICAttachment = message.RequiresMultiNICAttachment,
    };

    public static Generated.DelNetworkRequest ToGenerated(DelNetworkRequest message) => new()
    {
        ClientVersion = message.ClientVersion,
        K8SPODNAME = message.K8SPODNAME,
        K8SPODNAMESPACE = message.K8SPODNAMESPACE,
        K8SPODINFRACONTAINERID = message.K8SPODINFRACONTAINERID,
        Reason = message.Reason,
        IfName = message.IfName,
        NetworkName = message.NetworkName,
        ContainerID = message.ContainerID,
        K8SPODUID = message.K8SPODUID,
    };

    public static Generated.GetAttachmentRequest ToGenerated(GetAttachmentRequest message) => new()
    {
        NetworkName = message.NetworkName,
        ContainerID = message.ContainerID,
        IfName = message.IfName,
    };

    public static Generated.GarbageCollectRequest ToGenerated(GarbageCollectRequest message) => new()
    {
        NetworkName = message.NetworkName,
        ValidAttachments = { message.ValidAttachments.Select(ToGenerated) },
    };

    public static Generated.Attachment ToGenerated(Attachment message) => new()
    {
        ContainerID = message.ContainerID,
        IfName = message.IfName,
    };

    public static Generated.RemoveHostVethRequest ToGenerated(RemoveHostVethRequest message) => new()
    {
        IfIndex = message.IfIndex,
        Name = message.Name,
        NamespaceDevice = message.NamespaceDevice,
        NamespaceInode = message.NamespaceInode,
    };

    public static Generated.AddPodNetworkRequest ToGenerated(AddPodNetworkRequest message) => new()
    {
        Add = message.Add is null ? null : ToGenerated(message.Add),
        VethPrefix = message.VethPrefix,
        Mtu = message.Mtu,
        NetnsDevice = message.NetnsDevice,
        NetnsInode = message.NetnsInode,
    };

    public static Generated.DelPodNetworkRequest ToGenerated(DelPodNetworkRequest message) => new()
    {
        Del = message.Del is null ? null : ToGenerated(message.Del),
        VethPrefix = message.VethPrefix,
        Mtu = message.Mtu,
        Netns = message.Netns,
        NetnsDevice = message.NetnsDevice,
        NetnsInode = message.NetnsInode,
    };

    public static AddNetworkReply FromGenerated(Generated.AddNetworkReply message) => new()
    {
        Success = message.Success,
        IPAllocationMetadata = [.. message.IPAllocationMetadata.Select(FromGenerated)],
        UseExternalSNAT = message.UseExternalSNAT,
        VPCv4CIDRs = [.. message.VPCv4CIDRs],
        VPCv6CIDRs = [.. message.VPCv6CIDRs],
        PodVlanId = message.PodVlanId,
        PodENIMAC = message.PodENIMAC,
        PodENISubnetGW = message.PodENISubnetGW,
        ParentIfIndex = message.ParentIfIndex,
        NetworkPolicyMode = message.NetworkPolicyMode,
        FailureReason = message.FailureReason,
    };

    public static IPAllocationMetadata FromGenerated(Generated.IPAllocationMetadata message) => new()
    {
        IPv4Addr = message.IPv4Addr,
        IPv6Addr = message.IPv6Addr,
        DeviceNumber = message.DeviceNumber,
        RouteTableId = message.RouteTableId,
    };

    public static DelNetworkReply FromGenerated(Generated.DelNetworkReply message) => new()
    {
        Success = message.Success,
        IPAllocationMetadata = [.. message.IPAllocationMetadata.Select(FromGenerated)],
        PodVlanId = message.PodVlanId,
        NetworkPolicyMode = message.NetworkPolicyMode,
    };

    public static GetAttachmentReply FromGenerated(Generated.GetAttachmentReply message) => new()
    {
        Found = message.Found,
        IPv4Addr = message.IPv4Addr,
        DeviceNumber = message.DeviceNumber,
        RouteTableId = message.RouteTableId,
        PodNamespace = message.PodNamespace,
        PodName = message.PodName,
    };

    public static GetStatusReply FromGenerated(Generated.GetStatusReply message) => new()
    {
        Ready = message.Ready,
        Reason = message.Reason,
        AvailableIPs = message.AvailableIPs,
        AssignedIPs = message.AssignedIPs,
        CanGrow = message.CanGrow,
        LimitedConnectivity = message.LimitedConnectivity,
    };

    public static GarbageCollectReply FromGenerated(Generated.GarbageCollectReply message) => new()
    {
        Released = [.. message.Released.Select(FromGenerated)],
        Errors = [.. message.Errors],
    };

    public static ReleasedAttachment FromGenerated(Generated.ReleasedAttachment message) => new()
    {
        ContainerID = message.ContainerID,
        IfName = message.IfName,
        IPv4Addr = message.IPv4Addr,
        RouteTableId = message.RouteTableId,
        PodNamespace = message.PodNamespace,
        PodName = message.PodName,
    };

    public static RemoveHostVethReply FromGenerated(Generated.RemoveHostVethReply message) => new()
    {
        Removed = message.Removed,
        Reason = message.Reason,
    };

    public static AddPodNetworkReply FromGenerated(Generated.AddPodNetworkReply message) => new()
    {
        Outcome = (PodWiringOutcome)message.Outcome,
        Reply = message.Reply is null ? null : FromGenerated(message.Reply),
        Detail = message.Detail,
        HostVethName = message.HostVethName,
        HostVethMac = message.HostVethMac.ToByteArray(),
        ContainerMac = message.ContainerMac.ToByteArray(),
    };

    public static DelPodNetworkReply FromGenerated(Generated.DelPodNetworkReply message) => new()
    {
        Outcome = (PodWiringOutcome)message.Outcome,
        Reply = message.Reply is null ? null : FromGenerated(message.Reply),
        Detail = message.Detail,
    };
}
