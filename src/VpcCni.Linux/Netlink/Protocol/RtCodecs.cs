using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>Pure conversions between the public models and rtnetlink messages.</summary>
internal static class RtCodecs
{
    // ---------------- links ----------------

    public static void WriteLinkCreate(ref NetlinkWriter writer, LinkCreateRequest request)
    {
        writer.WriteHeader(new IfInfoMsg { Family = Af.Unspecified });
        WriteCommonLinkAttributes(ref writer, request.Name, request.Mtu, request.HardwareAddress, request.Namespace?.DangerousGetFd());
        var linkInfo = writer.BeginNested(Ifla.LinkInfo);
        switch (request)
        {
            case VethCreateRequest veth:
                writer.WriteString(Ifla.InfoKind, "veth");
                var data = writer.BeginNested(Ifla.InfoData);
                var peer = writer.BeginNested(Ifla.VethInfoPeer);
                writer.WriteHeader(new IfInfoMsg { Family = Af.Unspecified });
                WriteCommonLinkAttributes(ref writer, veth.PeerName, veth.PeerMtu ?? veth.Mtu, veth.PeerHardwareAddress, veth.PeerNamespace?.DangerousGetFd());
                writer.EndNested(peer);
                writer.EndNested(data);
                break;
            case DummyCreateRequest:
                writer.WriteString(Ifla.InfoKind, "dummy");
                break;
            case VlanCreateRequest vlan:
                writer.WriteString(Ifla.InfoKind, "vlan");
                var vlanData = writer.BeginNested(Ifla.InfoData);
                writer.WriteUInt16(Ifla.VlanId, vlan.VlanId);
                writer.EndNested(vlanData);
                break;
            default:
                throw new ArgumentException($"Unsupported link kind {request.GetType().Name}.", nameof(request));
        }

        writer.EndNested(linkInfo);
        if (request is VlanCreateRequest parent)
        {
            writer.WriteInt32(Ifla.Link, parent.ParentIndex);
        }
    }

    private static void WriteCommonLinkAttributes(ref NetlinkWriter writer, string name, int? mtu, PhysicalAddress? mac, int? namespaceFd)
    {
        ValidateLinkName(name);
        writer.WriteString(Ifla.IfName, name);
        if (mtu is { } value)
        {
            writer.WriteUInt32(Ifla.Mtu, (uint)value);
        }

        if (mac is not null)
        {
            WriteHardwareAddress(ref writer, mac);
        }

        if (namespaceFd is { } fd)
        {
            writer.WriteUInt32(Ifla.NetNsFd, (uint)fd);
        }
    }

    public static void WriteHardwareAddress(ref NetlinkWriter writer, PhysicalAddress mac)
    {
        writer.WriteAttribute(Ifla.Address, mac.GetAddressBytes());
    }

    public static void ValidateLinkName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 15 || name.Contains('/') || name.Contains(' ') || name is "." or "..")
        {
            throw new ArgumentException($"Invalid interface name '{name}': 1-15 characters, no '/' or spaces.", nameof(name));
        }
    }

    public static NetworkLink? ParseLink(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewLink || !message.TryReadHeader(out IfInfoMsg info))
        {
            return null;
        }

        string? name = null, kind = null;
        int mtu = 0;
        int? master = null, parent = null, netNsId = null;
        PhysicalAddress? mac = null;
        var attributes = message.AttributesAfter<IfInfoMsg>();
        while (attributes.TryRead(out var attribute))
        {
            switch (attribute.Type)
            {
                case Ifla.IfName:
                    name = attribute.GetString();
                    break;
                case Ifla.Mtu when attribute.TryGetInt32(out var value):
                    mtu = value;
                    break;
                case Ifla.Address when attribute.Value.Length > 0:
                    mac = new PhysicalAddress(attribute.Value.ToArray());
                    break;
                case Ifla.Master when attribute.TryGetInt32(out var value):
                    master = value;
                    break;
                case Ifla.Link when attribute.TryGetInt32(out var value):
                    parent = value;
                    break;
                case Ifla.LinkNetNsId when attribute.TryGetInt32(out var value):
                    netNsId = value;
                    break;
                case Ifla.LinkInfo:
                    var nested = attribute.Nested;
                    while (nested.TryRead(out var info2))
                    {
                        if (info2.Type == Ifla.InfoKind)
                        {
                            kind = info2.GetString();
                        }
                    }

                    break;
            }
        }

        return name is null ? null : new NetworkLink(info.Index, name, kind, mtu, mac, (LinkFlags)info.Flags, master, parent, netNsId);
    }

    // ---------------- addresses ----------------

    public static void WriteAddress(ref NetlinkWriter writer, InterfaceAddress address)
    {
        var family = NetlinkWriter.FamilyOf(address.Address);
        ValidatePrefix(address.Address.AddressFamily, address.PrefixLength);
        writer.WriteHeader(new IfAddrMsg
        {
            Family = family,
            PrefixLength = (byte)address.PrefixLength,
            Flags = (byte)(address.Flags & 0xFF),
            Scope = (byte)address.Scope,
            Index = address.LinkIndex,
        });
        writer.WriteAddress(Ifa.Local, address.Address);
        writer.WriteAddress(Ifa.Address, address.Address);
        if (address.Flags > 0xFF)
        {
            writer.WriteUInt32(Ifa.Flags, address.Flags);
        }

        if (address.Label is not null)
        {
            writer.WriteString(Ifa.Label, address.Label);
        }
    }

    public static InterfaceAddress? ParseAddress(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewAddr || !message.TryReadHeader(out IfAddrMsg header))
        {
            return null;
        }

        IPAddress? local = null, address = null;
        string? label = null;
        uint flags = header.Flags;
        var attributes = message.AttributesAfter<IfAddrMsg>();
        while (attributes.TryRead(out var attribute))
        {
            switch (attribute.Type)
            {
                case Ifa.Local:
                    local = attribute.GetAddress();
                    break;
                case Ifa.Address:
                    address = attribute.GetAddress();
                    break;
                case Ifa.Label:
                    label = attribute.GetString();
                    break;
                case Ifa.Flags when attribute.TryGetUInt32(out var value):
                    flags = value;
                    break;
            }
        }

        var chosen = local ?? address;
        if (chosen is null || header.PrefixLength > MaxPrefix(chosen.AddressFamily))
        {
            return null;
        }

        return new InterfaceAddress(header.Index, chosen, header.PrefixLength)
        {
            Scope = (RouteScope)header.Scope,
            Label = label,
            Flags = flags,
        };
    }

    // ---------------- routes ----------------

    public static void WriteRoute(ref NetlinkWriter writer, Route route, bool forDelete)
    {
        var destination = route.Destination;
        var family = NetlinkWriter.FamilyOf(destination.BaseAddress);
        if (route.Gateway is not null && route.Gateway.AddressFamily != destination.BaseAddress.AddressFamily)
        {
            throw new ArgumentException($"Gateway {route.Gateway} is not in the family of {destination}.", nameof(route));
        }

        writer.WriteHeader(new RtMsg
        {
            Family = family,
            DestinationLength = (byte)destination.PrefixLength,
            // Tables above 255 travel in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC (as iproute2 does).
            Table = route.Table is >= 0 and < 256 ? (byte)route.Table : (byte)0,
            Protocol = forDelete ? (byte)0 : (byte)route.Protocol,
            Scope = forDelete && route.Scope == RouteScope.Universe ? (byte)RouteScope.Nowhere : (byte)route.Scope,
            Type = forDelete ? (byte)0 : (byte)route.Type,
        });
        if (destination.PrefixLength > 0)
        {
            writer.WriteAddress(Rta.Dst, destination.BaseAddress);
        }

        if (route.Table > 255)
        {
            writer.WriteUInt32(Rta.Table, (uint)route.Table);
        }

        if (route.Gateway is not null)
        {
            writer.WriteAddress(Rta.Gateway, route.Gateway);
        }

        if (route.OutputLinkIndex is { } oif)
        {
            writer.WriteInt32(Rta.Oif, oif);
        }

        if (route.Priority is { } metric)
        {
            writer.WriteUInt32(Rta.Priority, (uint)metric);
        }

        if (route.PreferredSource is not null)
        {
            writer.WriteAddress(Rta.PrefSrc, route.PreferredSource);
        }
    }

    public static Route? ParseRoute(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewRoute || !message.TryReadHeader(out RtMsg header))
        {
            return null;
        }

        var family = header.Family switch
        {
            Af.Inet => AddressFamily.InterNetwork,
            Af.Inet6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown || header.DestinationLength > MaxPrefix(family))
        {
            return null;
        }

        IPAddress? destination = null, gateway = null, source = null;
        int? oif = null, priority = null;
        var table = (int)header.Table;
        var attributes = message.AttributesAfter<RtMsg>();
        while (attributes.TryRead(out var attribute))
        {
            switch (attribute.Type)
            {
                case Rta.Dst:
                    destination = attribute.GetAddress();
                    break;
                case Rta.Gateway:
                    gateway = attribute.GetAddress();
                    break;
                case Rta.PrefSrc:
                    source = attribute.GetAddress();
                    break;
                case Rta.Oif when attribute.TryGetInt32(out var value):
                    oif = value;
                    break;
                case Rta.Priority when attribute.TryGetInt32(out var value):
                    priority = value;
                    break;
                case Rta.Table when attribute.TryGetInt32(out var value):
                    table = value;
                    break;
            }
        }

        destination ??= family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
        if (destination.AddressFamily != family)
        {
            return null;
        }

        return new Route(MakeNetwork(destination, header.DestinationLength))
        {
            Gateway = gateway,
            OutputLinkIndex = oif,
            Table = table,
            Scope = (RouteScope)header.Scope,
            Protocol = (RouteProtocol)header.Protocol,
            Type = (RouteType)header.Type,
            Priority = priority,
            PreferredSource = source,
        };
    }

    // ---------------- rules ----------------

    public static void WriteRule(ref NetlinkWriter writer, RoutingRule rule)
    {
        var family = rule.Family == AddressFamily.InterNetworkV6 ? Af.Inet6 : Af.Inet;
        CheckFamily(rule.Source, rule.Family);
        CheckFamily(rule.Destination, rule.Family);
        writer.WriteHeader(new FibRuleHeader
        {
            Family = family,
            DestinationLength = (byte)(rule.Destination?.PrefixLength ?? 0),
            SourceLength = (byte)(rule.Source?.PrefixLength ?? 0),
            Table = rule.Table is > 0 and < 256 ? (byte)rule.Table : (byte)0,
            Action = Fra.ActionToTable,
            Flags = rule.Invert ? Fra.FlagInvert : 0,
        });
        if (rule.Priority is { } priority)
        {
            writer.WriteUInt32(Fra.Priority, (uint)priority);
        }

        writer.WriteUInt32(Fra.Table, (uint)rule.Table);
        if (rule.Source is { } source)
        {
            writer.WriteAddress(Fra.Src, source.BaseAddress);
        }

        if (rule.Destination is { } destination)
        {
            writer.WriteAddress(Fra.Dst, destination.BaseAddress);
        }

        if (rule.FirewallMark is { } mark)
        {
            writer.WriteUInt32(Fra.FwMark, mark);
            writer.WriteUInt32(Fra.FwMask, rule.FirewallMask ?? uint.MaxValue);
        }

        if (rule.InputInterface is not null)
        {
            writer.WriteString(Fra.IifName, rule.InputInterface);
        }

        if (rule.OutputInterface is not null)
        {
            writer.WriteString(Fra.OifName, rule.OutputInterface);
        }
    }

    /// <summary>NETNSA_NSID of an RTM_NEWNSID reply.</summary>
    public static int? ParseNsId(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewNsId)
        {
            return null;
        }

        var attributes = message.AttributesAfter<RtGenMsg>();
        while (attributes.TryRead(out var attribute))
        {
            if (attribute.Type == Netnsa.NsId && attribute.TryGetInt32(out var id))
            {
                return id;
            }
        }

        return null;
    }

    public static RoutingRule? ParseRule(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewRule || !message.TryReadHeader(out FibRuleHeader header) || header.Action != Fra.ActionToTable)
        {
            return null;
        }

        var family = header.Family switch
        {
            Af.Inet => AddressFamily.InterNetwork,
            Af.Inet6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown || header.SourceLength > MaxPrefix(family) || header.DestinationLength > MaxPrefix(family))
        {
            return null;
        }

        var rule = new RoutingRule(family) { Table = header.Table, Invert = (header.Flags & Fra.FlagInvert) != 0 };
        var attributes = message.AttributesAfter<FibRuleHeader>();
        while (attributes.TryRead(out var attribute))
        {
            switch (attribute.Type)
            {
                case Fra.Priority when attribute.TryGetInt32(out var value):
                    rule = rule with { Priority = value };
                    break;
                case Fra.Table when attribute.TryGetInt32(out var value):
                    rule = rule with { Table = value };
                    break;
                case Fra.Src when attribute.GetAddress() is { } address && address.AddressFamily == family:
                    rule = rule with { Source = MakeNetwork(address, header.SourceLength) };
                    break;
                case Fra.Dst when attribute.GetAddress() is { } address && address.AddressFamily == family:
                    rule = rule with { Destination = MakeNetwork(address, header.DestinationLength) };
                    break;
                case Fra.FwMark when attribute.TryGetUInt32(out var value):
                    rule = rule with { FirewallMark = value };
                    break;
                case Fra.FwMask when attribute.TryGetUInt32(out var value):
                    rule = rule with { FirewallMask = value };
                    break;
                case Fra.IifName:
                    rule = rule with { InputInterface = attribute.GetString() };
                    break;
                case Fra.OifName:
                    rule = rule with { OutputInterface = attribute.GetString() };
                    break;
            }
        }

        return rule;
    }

    // ---------------- neighbours ----------------

    public static void WriteNeighbor(ref NetlinkWriter writer, Neighbor neighbor)
    {
        writer.WriteHeader(new NdMsg
        {
            Family = NetlinkWriter.FamilyOf(neighbor.Address),
            Index = neighbor.LinkIndex,
            State = (ushort)neighbor.State,
        });
        writer.WriteAddress(Nda.Dst, neighbor.Address);
        if (neighbor.LinkLayerAddress is not null)
        {
            writer.WriteAttribute(Nda.LinkLayerAddress, neighbor.LinkLayerAddress.GetAddressBytes());
        }
    }

    public static Neighbor? ParseNeighbor(in NetlinkMessage message)
    {
        if (message.Header.Type != Rtm.NewNeigh || !message.TryReadHeader(out NdMsg header))
        {
            return null;
        }

        IPAddress? address = null;
        PhysicalAddress? lladdr = null;
        var attributes = message.AttributesAfter<NdMsg>();
        while (attributes.TryRead(out var attribute))
        {
            switch (attribute.Type)
            {
                case Nda.Dst:
                    address = attribute.GetAddress();
                    break;
                case Nda.LinkLayerAddress when attribute.Value.Length > 0:
                    lladdr = new PhysicalAddress(attribute.Value.ToArray());
                    break;
            }
        }

        return address is null ? null : new Neighbor(header.Index, address) { LinkLayerAddress = lladdr, State = (NeighborState)header.State };
    }

    // ---------------- helpers ----------------

    public static int MaxPrefix(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? 128 : 32;

    /// <summary>Builds a network from an address that may carry host bits (the kernel usually masks them; be safe).</summary>
    public static IPNetwork MakeNetwork(IPAddress address, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        bytes = bytes[..length];
        for (var bit = prefixLength; bit < length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), prefixLength);
    }

    private static void ValidatePrefix(AddressFamily family, int prefix)
    {
        if (prefix < 0 || prefix > MaxPrefix(family))
        {
            throw new ArgumentOutOfRangeException(nameof(prefix), prefix, $"Prefix length must be 0..{MaxPrefix(family)}.");
        }
    }

    private static void CheckFamily(IPNetwork? network, AddressFamily family)
    {
        if (network is { } value && value.BaseAddress.AddressFamily != family)
        {
            throw new ArgumentException($"{value} is not in the rule's address family {family}.", nameof(network));
        }
    }
}
