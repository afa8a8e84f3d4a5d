using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Namespaces;

namespace VpcCni.Linux.Netlink;

/// <summary>Well-known routing table ids.</summary>
public static class RouteTable
{
    public const int Unspecified = 0;
    public const int Default = 253;
    public const int Main = 254;
    public const int Local = 255;
}

/// <summary>Interface flags (IFF_*).</summary>
[Flags]
public enum LinkFlags : uint
{
    None = 0,
    Up = 0x1,
    Broadcast = 0x2,
    Loopback = 0x8,
    PointToPoint = 0x10,
    NoArp = 0x80,
    Promiscuous = 0x100,
    Multicast = 0x1000,
    LowerUp = 0x10000,
}

/// <summary>A network interface as the kernel reports it.</summary>
public sealed record NetworkLink(
    int Index,
    string Name,
    string? Kind,
    int Mtu,
    PhysicalAddress? HardwareAddress,
    LinkFlags Flags,
    int? MasterIndex,
    int? ParentIndex,
    int? LinkNetNsId)
{
    public bool IsUp => (Flags & LinkFlags.Up) != 0;
}

/// <summary>What to create with <see cref="RtNetlinkClient.CreateLink"/>.</summary>
public abstract record LinkCreateRequest(string Name)
{
    public int? Mtu { get; init; }

    public PhysicalAddress? HardwareAddress { get; init; }

    /// <summary>Create the link directly in this namespace (IFLA_NET_NS_FD).</summary>
    public NetworkNamespace? Namespace { get; init; }
}

/// <summary>A veth pair; the peer can be created directly in another namespace.</summary>
public sealed record VethCreateRequest(string Name, string PeerName) : LinkCreateRequest(Name)
{
    public NetworkNamespace? PeerNamespace { get; init; }

    public int? PeerMtu { get; init; }

    public PhysicalAddress? PeerHardwareAddress { get; init; }
}

/// <summary>A dummy link.</summary>
public sealed record DummyCreateRequest(string Name) : LinkCreateRequest(Name);

/// <summary>An 802.1Q VLAN on a parent link.</summary>
public sealed record VlanCreateRequest(string Name, int ParentIndex, ushort VlanId) : LinkCreateRequest(Name);

/// <summary>Address scope (RT_SCOPE_*).</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Site = 200,
    Link = 253,
    Host = 254,
    Nowhere = 255,
}

/// <summary>Who installed a route (RTPROT_*).</summary>
public enum RouteProtocol : byte
{
    Unspecified = 0,
    Redirect = 1,
    Kernel = 2,
    Boot = 3,
    Static = 4,
}

/// <summary>Route type (RTN_*).</summary>
public enum RouteType : byte
{
    Unspecified = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
    Throw = 9,
}

/// <summary>An address on a link. Address and prefix are separate because host bits may be set (10.0.0.5/24).</summary>
public sealed record InterfaceAddress(int LinkIndex, IPAddress Address, int PrefixLength)
{
    public RouteScope Scope { get; init; } = RouteScope.Universe;

    public string? Label { get; init; }

    /// <summary>IFA_F_* flags (e.g. 0x02 NODAD, 0x200 NOPREFIXROUTE).</summary>
    public uint Flags { get; init; }

    public override string ToString() => $"{Address}/{PrefixLength} dev #{LinkIndex}";
}

/// <summary>A route. <see cref="Destination"/> 0.0.0.0/0 (or ::/0) is the default route.</summary>
public sealed record Route(IPNetwork Destination)
{
    public IPAddress? Gateway { get; init; }

    public int? OutputLinkIndex { get; init; }

    public int Table { get; init; } = RouteTable.Main;

    public RouteScope Scope { get; init; } = RouteScope.Universe;

    public RouteProtocol Protocol { get; init; } = RouteProtocol.Boot;

    public RouteType Type { get; init; } = RouteType.Unicast;

    public int? Priority { get; init; }

    public IPAddress? PreferredSource { get; init; }

    public AddressFamily Family => Destination.BaseAddress.AddressFamily;

    public override string ToString() =>
        $"{Destination}{(Gateway is null ? "" : $" via {Gateway}")}{(OutputLinkIndex is null ? "" : $" dev #{OutputLinkIndex}")} table {Table} scope {Scope}";
}

/// <summary>Which routes <see cref="RtNetlinkClient.GetRoutes"/> returns.</summary>
public sealed record RouteFilter
{
    public AddressFamily Family { get; init; } = AddressFamily.InterNetwork;

    public int? Table { get; init; }

    public int? OutputLinkIndex { get; init; }

    public IPNetwork? Destination { get; init; }
}

/// <summary>A policy routing rule (only the "lookup table" action).</summary>
public sealed record RoutingRule(AddressFamily Family)
{
    public int? Priority { get; init; }

    public int Table { get; init; } = RouteTable.Main;

    public IPNetwork? Source { get; init; }

    public IPNetwork? Destination { get; init; }

    public uint? FirewallMark { get; init; }

    public uint? FirewallMask { get; init; }

    public string? InputInterface { get; init; }

    public string? OutputInterface { get; init; }

    public bool Invert { get; init; }

    public override string ToString() =>
        $"{(Priority is null ? "" : $"{Priority}: ")}{(Invert ? "not " : "")}{(Source is null ? "from all" : $"from {Source}")}" +
        $"{(Destination is null ? "" : $" to {Destination}")}{(FirewallMark is null ? "" : $" fwmark 0x{FirewallMark:x}/0x{FirewallMask ?? uint.MaxValue:x}")}" +
        $"{(InputInterface is null ? "" : $" iif {InputInterface}")}{(OutputInterface is null ? "" : $" oif {OutputInterface}")} lookup {Table}";
}

/// <summary>Neighbour states (NUD_*).</summary>
[Flags]
public enum NeighborState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>A neighbour (ARP/NDP) entry.</summary>
public sealed record Neighbor(int LinkIndex, IPAddress Address)
{
    public PhysicalAddress? LinkLayerAddress { get; init; }

    public NeighborState State { get; init; } = NeighborState.Permanent;
}
