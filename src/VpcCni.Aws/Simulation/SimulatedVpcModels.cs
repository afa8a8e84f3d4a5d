using System.Net;

namespace VpcCni.Aws.Simulation;

/// <summary>An EC2 error raised by the simulated VPC, with EC2's code and HTTP status.</summary>
internal sealed class SimulatedEc2Exception : Exception
{
    public SimulatedEc2Exception(string code, string message)
        : base(message)
    {
        Code = code;
        HttpStatus = Ec2ErrorCodes.HttpStatusFor(code);
    }

    /// <summary>EC2 error code, e.g. InsufficientFreeAddressesInSubnet.</summary>
    public string Code { get; }

    /// <summary>HTTP status EC2 uses for the code.</summary>
    public int HttpStatus { get; }
}

/// <summary>A VPC of the simulation.</summary>
public sealed record SimulatedVpcInfo(string VpcId, IReadOnlyList<IPNetwork> Cidrs)
{
    /// <summary>The VPC's IPv6 block (a /56 out of <see cref="SimulatedVpcOptions.Ipv6Pool"/>).</summary>
    public IReadOnlyList<IPNetwork> Ipv6Cidrs { get; init; } = [];
}

/// <summary>A subnet as DescribeSubnets reports it.</summary>
public sealed record SimulatedSubnet(
    string SubnetId,
    string VpcId,
    string AvailabilityZone,
    IPNetwork Cidr,
    int AvailableIpAddressCount,
    IReadOnlyDictionary<string, string> Tags)
{
    /// <summary>The subnet's IPv6 /64 (the VPC's /56 cut in order of creation); null when the VPC has none left.</summary>
    public IPNetwork? Ipv6Cidr { get; init; }

    /// <summary>Completely free aligned /28 blocks (prefix-delegation headroom); EC2's DescribeSubnets has no such field.</summary>
    public int FreePrefixBlocks { get; init; }
}

/// <summary>An ENI attachment; <c>Status</c> is attaching, attached or detaching.</summary>
public sealed record SimulatedAttachment(
    string AttachmentId,
    string InstanceId,
    int DeviceIndex,
    int NetworkCardIndex,
    string Status,
    bool DeleteOnTermination,
    DateTimeOffset AttachTime);

/// <summary>An ENI as DescribeNetworkInterfaces reports it; <c>Status</c> is available or in-use.</summary>
public sealed record SimulatedEni(
    string NetworkInterfaceId,
    string SubnetId,
    string VpcId,
    string AvailabilityZone,
    string MacAddress,
    string Description,
    IPAddress PrimaryIPv4,
    IReadOnlyList<IPAddress> SecondaryIPv4,
    IReadOnlyList<IPNetwork> IPv4Prefixes,
    IReadOnlyList<string> SecurityGroupIds,
    IReadOnlyDictionary<string, string> Tags,
    string Status,
    SimulatedAttachment? Attachment,
    string InterfaceType,
    DateTimeOffset CreatedAt)
{
    /// <summary>IPv6 addresses of the ENI (its primary IPv6 when the subnet assigns one on creation).</summary>
    public IReadOnlyList<IPAddress> IPv6Addresses { get; init; } = [];

    /// <summary>Delegated IPv6 /80 prefixes.</summary>
    public IReadOnlyList<IPNetwork> IPv6Prefixes { get; init; } = [];
}

/// <summary>An instance as DescribeInstances reports it.</summary>
public sealed record SimulatedInstance(
    string InstanceId,
    string InstanceType,
    string AvailabilityZone,
    string VpcId,
    string SubnetId,
    IPAddress PrivateIPv4,
    IReadOnlyList<string> SecurityGroupIds,
    IReadOnlyList<SimulatedEni> NetworkInterfaces,
    string State);

/// <summary>One interface in an instance's IMDS view (which may lag behind EC2).</summary>
internal sealed record ImdsInterfaceView(
    string MacAddress,
    string InterfaceId,
    int DeviceNumber,
    int NetworkCard,
    string SubnetId,
    IPNetwork SubnetCidr,
    string VpcId,
    IReadOnlyList<IPNetwork> VpcCidrs,
    IReadOnlyList<string> SecurityGroupIds,
    IReadOnlyList<IPAddress> LocalIPv4s,
    IReadOnlyList<IPNetwork> IPv4Prefixes)
{
    public IReadOnlyList<IPAddress> IPv6s { get; init; } = [];

    public IReadOnlyList<IPNetwork> IPv6Prefixes { get; init; } = [];

    public IReadOnlyList<IPNetwork> SubnetIpv6Cidrs { get; init; } = [];

    public IReadOnlyList<IPNetwork> VpcIpv6Cidrs { get; init; } = [];
}

/// <summary>What IMDS shows one instance right now.</summary>
internal sealed record ImdsInstanceView(
    string InstanceId,
    string InstanceType,
    string AvailabilityZone,
    string Region,
    string PrimaryMacAddress,
    IPAddress LocalIPv4,
    IReadOnlyList<ImdsInterfaceView> Interfaces)
{
    /// <summary>The primary ENI's first IPv6 address (IMDS <c>ipv6</c>); null when it has none.</summary>
    public IPAddress? IPv6 { get; init; }
}

/// <summary>A filter of a Describe call: name and accepted values (any matches).</summary>
internal sealed record Ec2Filter(string Name, IReadOnlyList<string> Values);

/// <summary>One page of a paginated Describe call.</summary>
internal sealed record Ec2Page<T>(IReadOnlyList<T> Items, string? NextToken);

/// <summary>Which kind of change the simulated VPC reports to listeners.</summary>
public enum SimulatedVpcChangeKind
{
    /// <summary>An ENI's attachment completed (the device appears on the instance).</summary>
    EniAttached,

    /// <summary>An ENI's detachment completed (the device leaves the instance).</summary>
    EniDetached,

    /// <summary>Addresses or prefixes were assigned to an ENI.</summary>
    AddressesAssigned,

    /// <summary>Addresses or prefixes were returned from an ENI.</summary>
    AddressesUnassigned,
}

/// <summary>A change the lab reacts to (hot-plug a link, route addresses to an ENI). <c>InstanceId</c> is the
/// instance the ENI is (or was) attached to, null for an unattached ENI; <c>Cidrs</c> holds, for address changes,
/// the /32s and /28s concerned and, for attach/detach, all the ENI's addresses.</summary>
public sealed class SimulatedVpcChangeEventArgs(
    SimulatedVpcChangeKind kind,
    string? instanceId,
    SimulatedEni eni,
    IReadOnlyList<IPNetwork> cidrs) : EventArgs
{
    public SimulatedVpcChangeKind Kind { get; } = kind;

    public string? InstanceId { get; } = instanceId;

    /// <summary>The ENI after the change.</summary>
    public SimulatedEni Eni { get; } = eni;

    public IReadOnlyList<IPNetwork> Cidrs { get; } = cidrs;
}
