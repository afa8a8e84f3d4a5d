using System.Net;

namespace VpcCni.Cloud;

/// <summary>What EC2 calls the interface type; decides whether the engine may use or delete an ENI.</summary>
public enum EniKind
{
    Interface,
    Trunk,
    Efa,
    EfaOnly,
}

/// <summary>An ENI attached to this instance, as the cloud reports it.</summary>
/// <param name="Id">The ENI id (eni-...).</param>
/// <param name="MacAddress">Lower-case, colon separated.</param>
/// <param name="DeviceIndex">Attachment device index; 0 is the primary ENI.</param>
/// <param name="NetworkCardIndex">Network card the ENI is attached on.</param>
/// <param name="SubnetId">Subnet of the ENI.</param>
/// <param name="SubnetCidr">IPv4 CIDR of that subnet (the gateway is its first host address).</param>
/// <param name="PrimaryIPv4">The ENI's own address; never handed to pods.</param>
/// <param name="SecondaryIPv4">Secondary /32 addresses (secondary-IP mode).</param>
/// <param name="IPv4Prefixes">Delegated /28 prefixes (prefix-delegation mode).</param>
public sealed record NetworkInterface(
    string Id,
    string MacAddress,
    int DeviceIndex,
    int NetworkCardIndex,
    string SubnetId,
    IPNetwork SubnetCidr,
    IPAddress PrimaryIPv4,
    IReadOnlyList<IPAddress> SecondaryIPv4,
    IReadOnlyList<IPNetwork> IPv4Prefixes)
{
    public EniKind Kind { get; init; } = EniKind.Interface;

    /// <summary>EC2 attachment id; needed to detach.</summary>
    public string? AttachmentId { get; init; }

    /// <summary>EC2 tags of the ENI (used for the unmanaged/no_manage rules).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = EmptyTags;

    public IReadOnlyList<IPAddress> IPv6Addresses { get; init; } = [];

    public IReadOnlyList<IPNetwork> IPv6Prefixes { get; init; } = [];

    /// <summary>The ENI's subnet is excluded from pod addresses (subnet discovery on and the subnet tagged
    /// <c>kubernetes.io/role/cni=0</c>, or its cluster tags name another cluster): the engine hands out none of its
    /// addresses and returns its free ones.</summary>
    public bool IsExcludedForPodIPs { get; init; }

    public bool IsPrimary => DeviceIndex == 0 && NetworkCardIndex == 0;

    private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();
}

/// <summary>Networking limits of an instance type.</summary>
/// <param name="InstanceType">e.g. m5.large.</param>
/// <param name="MaxEnis">Interfaces on the default network card.</param>
/// <param name="IPv4PerEni">IPv4 addresses per interface, the ENI's primary address included.</param>
public sealed record InstanceLimits(string InstanceType, int MaxEnis, int IPv4PerEni)
{
    public int NetworkCards { get; init; } = 1;

    public int DefaultNetworkCardIndex { get; init; }

    public string Hypervisor { get; init; } = "nitro";

    public bool IsBareMetal { get; init; }

    /// <summary>vCPUs when known; the EKS max-pods calculator caps by it.</summary>
    public int? VCpus { get; init; }

    /// <summary>Whether the type supports ENI trunking (security groups for pods).</summary>
    public bool SupportsTrunking { get; init; }

    /// <summary>Prefix delegation needs the Nitro hypervisor (or bare metal).</summary>
    public bool SupportsPrefixDelegation => Hypervisor == "nitro" || IsBareMetal;
}

/// <summary>Who this instance is and where it sits.</summary>
public sealed record InstanceIdentity(
    string InstanceId,
    string InstanceType,
    string AvailabilityZone,
    string PrimaryMacAddress,
    IPAddress PrimaryIPv4,
    string PrimaryEniId,
    string SubnetId,
    IPNetwork SubnetCidr,
    IReadOnlyList<string> SecurityGroupIds,
    IReadOnlyList<IPNetwork> VpcCidrs)
{
    public string? VpcId { get; init; }
}

/// <summary>Which kind of address unit to request.</summary>
public enum AddressUnit
{
    /// <summary>Secondary /32 IPv4 addresses.</summary>
    SecondaryIPv4,

    /// <summary>/28 IPv4 prefixes (prefix delegation).</summary>
    IPv4Prefix,
}

/// <summary>Create an ENI, attach it to this instance, and give it addresses.</summary>
/// <param name="Unit">Whether <paramref name="Count"/> counts /32 addresses or /28 prefixes.</param>
/// <param name="Count">How many units to put on the new ENI (may be 0).</param>
public sealed record EniCreateRequest(AddressUnit Unit, int Count)
{
    public int NetworkCardIndex { get; init; }

    /// <summary>Subnet to create in; null means the primary ENI's subnet (or discovery, by the provider).
    /// Not together with <see cref="SubnetIds"/>.</summary>
    public string? SubnetId { get; init; }

    /// <summary>Candidate subnets (of the instance's zone and VPC): the provider tries them from the most free addresses
    /// down (ties keep this order) and moves on when one is full. Not together with <see cref="SubnetId"/>.</summary>
    public IReadOnlyList<string>? SubnetIds { get; init; }

    /// <summary>Security groups; null means the primary ENI's.</summary>
    public IReadOnlyList<string>? SecurityGroupIds { get; init; }

    /// <summary>Extra tags beyond the ones the provider always adds.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>What a provider knows of an eligible subnet's room for /28 prefixes.</summary>
/// <param name="SubnetId">The subnet.</param>
/// <param name="FreePrefixBlocks">Free aligned /28 blocks, when the cloud reports them; null when it does not (EC2 never does).</param>
/// <param name="RecentlyRefused">The subnet answered InsufficientCidrBlocks recently (learned from the cloud's answers).</param>
public sealed record SubnetPrefixCapacity(string SubnetId, int? FreePrefixBlocks, bool RecentlyRefused);

/// <summary>Implemented by providers that know how fragmented the eligible subnets are (for introspection and metrics).
/// Answers from what the provider last saw; makes no cloud call.</summary>
public interface ISubnetPrefixCapacitySource
{
    /// <summary>The subnets seen for new ENIs, with their last known /28 room.</summary>
    IReadOnlyList<SubnetPrefixCapacity> GetSubnetPrefixCapacity();
}
