using System.Net;

namespace VpcCni.Ipam;

/// <summary>An ENI as the datastore knows it.</summary>
/// <param name="Id">ENI id.</param>
/// <param name="DeviceNumber">Attachment device index (0 = primary ENI).</param>
/// <param name="IsPrimary">The instance's primary ENI; never deleted.</param>
/// <param name="RouteTableId">Host route table of the ENI (<see cref="EniRouteTable.For"/>).</param>
/// <param name="SubnetId">Subnet of the ENI.</param>
internal sealed record EniRegistration(string Id, int DeviceNumber, bool IsPrimary, int RouteTableId, string SubnetId)
{
    public bool IsTrunk { get; init; }

    public bool IsEfa { get; init; }

    /// <summary>No new pod addresses from this ENI (its subnet is excluded), and it is left out of the stats.</summary>
    public bool IsExcluded { get; init; }
}

/// <summary>Result of <see cref="PoolDatastore.Assign"/>.</summary>
internal enum AssignStatus
{
    /// <summary>A new address was bound to the key.</summary>
    Assigned,

    /// <summary>The key already held an address; it is returned unchanged (idempotent ADD).</summary>
    AlreadyAssigned,

    /// <summary>No address is free right now.</summary>
    NoFreeAddress,
}

/// <summary>Outcome of an assign. <see cref="EniId"/> is null when nothing was assigned.</summary>
internal readonly record struct AssignOutcome(AssignStatus Status, PodAddress Address, int DeviceNumber, int RouteTableId, string? EniId)
{
    public bool Succeeded => Status != AssignStatus.NoFreeAddress;
}

/// <summary>Result of <see cref="PoolDatastore.Unassign"/>.</summary>
internal enum UnassignStatus
{
    /// <summary>The key's address was released (it now cools down).</summary>
    Released,

    /// <summary>The key holds nothing (upstream: "datastore: unknown pod"); not an error for a CNI DEL.</summary>
    Unknown,
}

/// <summary>Outcome of an unassign.</summary>
internal readonly record struct UnassignOutcome(
    UnassignStatus Status,
    PodAddress Address,
    int DeviceNumber,
    int RouteTableId,
    int InterfacesCount,
    string? EniId);

/// <summary>One live allocation as recorded durably.</summary>
/// <param name="AllocatedAtUnixNanoseconds">Assignment time in Unix nanoseconds (upstream's checkpoint unit).</param>
public sealed record AllocationRecord(AttachmentKey Key, PodAddress Address, long AllocatedAtUnixNanoseconds, PodMetadata Metadata);

/// <summary>A read-only view of one ENI for the pool policies.</summary>
/// <param name="Cidrs">Mode-matching CIDR entries (SIP: /32s; PD: /28s).</param>
/// <param name="AllCidrs">All IPv4 CIDR entries, whatever the mode (upstream compares this with the per-ENI limit).</param>
/// <param name="Addresses">Addresses in mode-matching CIDRs.</param>
/// <param name="FreeableCidrs">Mode-matching CIDRs with no assigned and no cooling address, in release order.</param>
/// <param name="IdleCidrEntries">CIDR entries of any kind with no assigned address (upstream's count for rule 7 of getDeletableENI).</param>
/// <param name="MismatchedFreeCidrs">CIDRs of the other mode with no assigned address (left over after a mode switch).</param>
public sealed record EniState(
    string Id,
    int DeviceNumber,
    bool IsPrimary,
    bool IsTrunk,
    bool IsEfa,
    bool IsExcluded,
    DateTimeOffset AddedAt,
    int Cidrs,
    int AllCidrs,
    int Addresses,
    int Assigned,
    int Cooling,
    IReadOnlyList<IPNetwork> FreeableCidrs,
    int IdleCidrEntries,
    IReadOnlyList<IPNetwork> MismatchedFreeCidrs)
{
    public int Free => Addresses - Assigned;

    /// <summary>The ENI's subnet.</summary>
    public string? SubnetId { get; init; }

    /// <summary>PD mode: the subnet had no free /28 for this ENI, so its secondary /32 addresses serve pods too (they are
    /// counted in <see cref="Cidrs"/>, <see cref="Addresses"/>, <see cref="Assigned"/> and <see cref="Cooling"/>, never in
    /// <see cref="FreeableCidrs"/>).</summary>
    public bool AddressFallback { get; init; }

    /// <summary>PD mode: /32 addresses of this ENI that serve pods while it is in <see cref="AddressFallback"/>.</summary>
    public int FallbackAddresses { get; init; }
}
