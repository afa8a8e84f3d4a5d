using Google.Protobuf;
using VpcCni.Hosting.Plugin.Wire;
using Generated = VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Tests.Plugin.Wire;

/// <summary>
/// The generated message of each wire record, mapped by field name (the codec maps by number, so a wrong number shows
/// as a difference), and a record of each type with every field set to a value of its own.
/// </summary>
internal static class WireSamples
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

    public static Generated.IPAllocationMetadata ToGenerated(IPAllocationMetadata message) => new()
    {
        IPv4Addr = message.IPv4Addr,
        IPv6Addr = message.IPv6Addr,
        DeviceNumber = message.DeviceNumber,
        RouteTableId = message.RouteTableId,
    };

    public static Generated.AddNetworkReply ToGenerated(AddNetworkReply message) => new()
    {
        Success = message.Success,
        IPAllocationMetadata = { message.IPAllocationMetadata.Select(ToGenerated) },
        UseExternalSNAT = message.UseExternalSNAT,
        VPCv4CIDRs = { message.VPCv4CIDRs },
        VPCv6CIDRs = { message.VPCv6CIDRs },
        PodVlanId = message.PodVlanId,
        PodENIMAC = message.PodENIMAC,
        PodENISubnetGW = message.PodENISubnetGW,
        ParentIfIndex = message.ParentIfIndex,
        NetworkPolicyMode = message.NetworkPolicyMode,
        FailureReason = message.FailureReason,
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

    public static Generated.DelNetworkReply ToGenerated(DelNetworkReply message) => new()
    {
        Success = message.Success,
        IPAllocationMetadata = { message.IPAllocationMetadata.Select(ToGenerated) },
        PodVlanId = message.PodVlanId,
        NetworkPolicyMode = message.NetworkPolicyMode,
    };

    public static Generated.EnforceNpRequest ToGenerated(EnforceNpRequest message) => new()
    {
        K8SPODNAME = message.K8SPODNAME,
        K8SPODNAMESPACE = message.K8SPODNAMESPACE,
        NETWORKPOLICYMODE = message.NETWORKPOLICYMODE,
        InterfaceCount = message.InterfaceCount,
    };

    public static Generated.EnforceNpReply ToGenerated(EnforceNpReply message) => new()
    {
        Success = message.Success,
    };

    public static Generated.DeleteNpRequest ToGenerated(DeleteNpRequest message) => new()
    {
        K8SPODNAME = message.K8SPODNAME,
        K8SPODNAMESPACE = message.K8SPODNAMESPACE,
    };

    public static Generated.DeleteNpReply ToGenerated(DeleteNpReply message) => new()
    {
        Success = message.Success,
    };

    public static Generated.AddPodNetworkRequest ToGenerated(AddPodNetworkRequest message) => new()
    {
        Add = message.Add is null ? null : ToGenerated(message.Add),
        VethPrefix = message.VethPrefix,
        Mtu = message.Mtu,
        NetnsDevice = message.NetnsDevice,
        NetnsInode = message.NetnsInode,
    };

    public static Generated.AddPodNetworkReply ToGenerated(AddPodNetworkReply message) => new()
    {
        Outcome = (Generated.PodWiringOutcome)message.Outcome,
        Reply = message.Reply is null ? null : ToGenerated(message.Reply),
        Detail = message.Detail,
        HostVethName = message.HostVethName,
        HostVethMac = ByteString.CopyFrom(message.HostVethMac.Span),
        ContainerMac = ByteString.CopyFrom(message.ContainerMac.Span),
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

    public static Generated.DelPodNetworkReply ToGenerated(DelPodNetworkReply message) => new()
    {
        Outcome = (Generated.PodWiringOutcome)message.Outcome,
        Reply = message.Reply is null ? null : ToGenerated(message.Reply),
        Detail = message.Detail,
    };

    public static Generated.RemoveHostVethRequest ToGenerated(RemoveHostVethRequest message) => new()
    {
        IfIndex = message.IfIndex,
        Name = message.Name,
        NamespaceDevice = message.NamespaceDevice,
        NamespaceInode = message.NamespaceInode,
    };

    public static Generated.RemoveHostVethReply ToGenerated(RemoveHostVethReply message) => new()
    {
        Removed = message.Removed,
        Reason = message.Reason,
    };

    public static Generated.GetAttachmentRequest ToGenerated(GetAttachmentRequest message) => new()
    {
        NetworkName = message.NetworkName,
        ContainerID = message.ContainerID,
        IfName = message.IfName,
    };

    public static Generated.GetAttachmentReply ToGenerated(GetAttachmentReply message) => new()
    {
        Found = message.Found,
        IPv4Addr = message.IPv4Addr,
        DeviceNumber = message.DeviceNumber,
        RouteTableId = message.RouteTableId,
        PodNamespace = message.PodNamespace,
        PodName = message.PodName,
    };

    public static Generated.GetStatusRequest ToGenerated(GetStatusRequest message) => new();

    public static Generated.GetStatusReply ToGenerated(GetStatusReply message) => new()
    {
        Ready = message.Ready,
        Reason = message.Reason,
        AvailableIPs = message.AvailableIPs,
        AssignedIPs = message.AssignedIPs,
        CanGrow = message.CanGrow,
        LimitedConnectivity = message.LimitedConnectivity,
    };

    public static Generated.Attachment ToGenerated(Attachment message) => new()
    {
        ContainerID = message.ContainerID,
        IfName = message.IfName,
    };

    public static Generated.GarbageCollectRequest ToGenerated(GarbageCollectRequest message) => new()
    {
        NetworkName = message.NetworkName,
        ValidAttachments = { message.ValidAttachments.Select(ToGenerated) },
    };

    public static Generated.ReleasedAttachment ToGenerated(ReleasedAttachment message) => new()
    {
        ContainerID = message.ContainerID,
        IfName = message.IfName,
        IPv4Addr = message.IPv4Addr,
        RouteTableId = message.RouteTableId,
        PodNamespace = message.PodNamespace,
        PodName = message.PodName,
    };

    public static Generated.GarbageCollectReply ToGenerated(GarbageCollectReply message) => new()
    {
        Released = { message.Released.Select(ToGenerated) },
        Errors = { message.Errors },
    };

    public static AddNetworkRequest FullAddNetworkRequest() => new()
    {
        ClientVersion = "ClientVersion-8-ü€",
        K8SPODNAME = "K8SPODNAME-1-ü€",
        K8SPODNAMESPACE = "K8SPODNAMESPACE-2-ü€",
        K8SPODINFRACONTAINERID = "K8SPODINFRACONTAINERID-3-ü€",
        Netns = "Netns-4-ü€",
        IfName = "IfName-5-ü€",
        NetworkName = "NetworkName-6-ü€",
        ContainerID = "ContainerID-7-ü€",
        RequiresMultiNICAttachment = true,
    };

    public static IPAllocationMetadata FullIPAllocationMetadata() => new()
    {
        IPv4Addr = "IPv4Addr-1-ü€",
        IPv6Addr = "IPv6Addr-2-ü€",
        DeviceNumber = -3007,
        RouteTableId = 4007,
    };

    public static AddNetworkReply FullAddNetworkReply() => new()
    {
        Success = true,
        IPAllocationMetadata = [FullIPAllocationMetadata(), new IPAllocationMetadata(), FullIPAllocationMetadata() with { }],
        UseExternalSNAT = true,
        VPCv4CIDRs = ["VPCv4CIDRs-a", "", "VPCv4CIDRs-ß"],
        VPCv6CIDRs = ["VPCv6CIDRs-a", "", "VPCv6CIDRs-ß"],
        PodVlanId = -7007,
        PodENIMAC = "PodENIMAC-8-ü€",
        PodENISubnetGW = "PodENISubnetGW-9-ü€",
        ParentIfIndex = 10007,
        NetworkPolicyMode = "NetworkPolicyMode-13-ü€",
        FailureReason = "FailureReason-1001-ü€",
    };

    public static DelNetworkRequest FullDelNetworkRequest() => new()
    {
        ClientVersion = "ClientVersion-9-ü€",
        K8SPODNAME = "K8SPODNAME-1-ü€",
        K8SPODNAMESPACE = "K8SPODNAMESPACE-2-ü€",
        K8SPODINFRACONTAINERID = "K8SPODINFRACONTAINERID-3-ü€",
        Reason = "Reason-5-ü€",
        IfName = "IfName-6-ü€",
        NetworkName = "NetworkName-7-ü€",
        ContainerID = "ContainerID-8-ü€",
        K8SPODUID = "K8SPODUID-10-ü€",
    };

    public static DelNetworkReply FullDelNetworkReply() => new()
    {
        Success = true,
        IPAllocationMetadata = [FullIPAllocationMetadata(), new IPAllocationMetadata(), FullIPAllocationMetadata() with { }],
        PodVlanId = 4007,
        NetworkPolicyMode = "NetworkPolicyMode-6-ü€",
    };

    public static EnforceNpRequest FullEnforceNpRequest() => new()
    {
        K8SPODNAME = "K8SPODNAME-1-ü€",
        K8SPODNAMESPACE = "K8SPODNAMESPACE-2-ü€",
        NETWORKPOLICYMODE = "NETWORKPOLICYMODE-3-ü€",
        InterfaceCount = 4007,
    };

    public static EnforceNpReply FullEnforceNpReply() => new()
    {
        Success = true,
    };

    public static DeleteNpRequest FullDeleteNpRequest() => new()
    {
        K8SPODNAME = "K8SPODNAME-1-ü€",
        K8SPODNAMESPACE = "K8SPODNAMESPACE-2-ü€",
    };

    public static DeleteNpReply FullDeleteNpReply() => new()
    {
        Success = true,
    };

    public static AddPodNetworkRequest FullAddPodNetworkRequest() => new()
    {
        Add = FullAddNetworkRequest(),
        VethPrefix = "VethPrefix-2-ü€",
        Mtu = -3007,
        NetnsDevice = 4UL << 40 | 0xFFFF_FFFFUL,
        NetnsInode = 5UL << 40 | 0xFFFF_FFFFUL,
    };

    public static AddPodNetworkReply FullAddPodNetworkReply() => new()
    {
        Outcome = PodWiringOutcome.PodWiringFailed,
        Reply = FullAddNetworkReply(),
        Detail = "Detail-3-ü€",
        HostVethName = "HostVethName-4-ü€",
        HostVethMac = new byte[] { 5, 0xFF, 0, 0x80 },
        ContainerMac = new byte[] { 6, 0xFF, 0, 0x80 },
    };

    public static DelPodNetworkRequest FullDelPodNetworkRequest() => new()
    {
        Del = FullDelNetworkRequest(),
        VethPrefix = "VethPrefix-2-ü€",
        Mtu = -3007,
        Netns = "Netns-4-ü€",
        NetnsDevice = 5UL << 40 | 0xFFFF_FFFFUL,
        NetnsInode = 6UL << 40 | 0xFFFF_FFFFUL,
    };

    public static DelPodNetworkReply FullDelPodNetworkReply() => new()
    {
        Outcome = PodWiringOutcome.PodWiringFailed,
        Reply = FullDelNetworkReply(),
        Detail = "Detail-3-ü€",
    };

    public static RemoveHostVethRequest FullRemoveHostVethRequest() => new()
    {
        IfIndex = -1007,
        Name = "Name-2-ü€",
        NamespaceDevice = 3UL << 40 | 0xFFFF_FFFFUL,
        NamespaceInode = 4UL << 40 | 0xFFFF_FFFFUL,
    };

    public static RemoveHostVethReply FullRemoveHostVethReply() => new()
    {
        Removed = true,
        Reason = "Reason-2-ü€",
    };

    public static GetAttachmentRequest FullGetAttachmentRequest() => new()
    {
        NetworkName = "NetworkName-1-ü€",
        ContainerID = "ContainerID-2-ü€",
        IfName = "IfName-3-ü€",
    };

    public static GetAttachmentReply FullGetAttachmentReply() => new()
    {
        Found = true,
        IPv4Addr = "IPv4Addr-2-ü€",
        DeviceNumber = -3007,
        RouteTableId = 4007,
        PodNamespace = "PodNamespace-5-ü€",
        PodName = "PodName-6-ü€",
    };

    public static GetStatusRequest FullGetStatusRequest() => new();

    public static GetStatusReply FullGetStatusReply() => new()
    {
        Ready = true,
        Reason = "Reason-2-ü€",
        AvailableIPs = -3007,
        AssignedIPs = 4007,
        CanGrow = true,
        LimitedConnectivity = true,
    };

    public static Attachment FullAttachment() => new()
    {
        ContainerID = "ContainerID-1-ü€",
        IfName = "IfName-2-ü€",
    };

    public static GarbageCollectRequest FullGarbageCollectRequest() => new()
    {
        NetworkName = "NetworkName-1-ü€",
        ValidAttachments = [FullAttachment(), new Attachment(), FullAttachment() with { }],
    };

    public static ReleasedAttachment FullReleasedAttachment() => new()
    {
        ContainerID = "ContainerID-1-ü€",
        IfName = "IfName-2-ü€",
        IPv4Addr = "IPv4Addr-3-ü€",
        RouteTableId = 4007,
        PodNamespace = "PodNamespace-5-ü€",
        PodName = "PodName-6-ü€",
    };

    public static GarbageCollectReply FullGarbageCollectReply() => new()
    {
        Released = [FullReleasedAttachment(), new ReleasedAttachment(), FullReleasedAttachment() with { }],
        Errors = ["Errors-a", "", "Errors-ß"],
    };
}
