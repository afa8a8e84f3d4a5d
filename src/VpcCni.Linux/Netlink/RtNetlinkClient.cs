using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Netlink;

/// <summary>
/// rtnetlink client bound to one network namespace: links, addresses, routes, rules and neighbours.
/// Synchronous by design: a request completes in microseconds. Thread-safe (requests are serialised).
/// </summary>
public sealed class RtNetlinkClient : IDisposable
{
    private const int RequestBufferSize = 4096;
    private const int DumpAttempts = 5;
    private readonly NetlinkSocket _socket;

    private RtNetlinkClient(NetlinkSocket socket) => _socket = socket;

    /// <summary>A client for the calling thread's namespace.</summary>
    public static RtNetlinkClient Open() => new(NetlinkSocket.Open());

    /// <summary>A client whose socket is created inside <paramref name="ns"/>; usable from any thread afterwards.</summary>
    public static RtNetlinkClient Open(NetworkNamespace ns, NetworkNamespaceExecutor? executor = null) =>
        new((executor ?? NetworkNamespaceExecutor.Shared).Invoke(ns, static _ => NetlinkSocket.Open(), 0));

    // ---------------- links ----------------

    /// <summary>All links.</summary>
    public IReadOnlyList<NetworkLink> GetLinks() =>
        Dump<NetworkLink>(Rtm.GetLink, "RTM_GETLINK dump", static (ref NetlinkWriter w) => w.WriteHeader(new IfInfoMsg()), RtCodecs.ParseLink);

    /// <summary>
    /// The id this socket's namespace uses for <paramref name="other"/> (what a link's <see cref="NetworkLink.LinkNetNsId"/>
    /// reports for a peer there), or null when none is assigned, meaning no link here has a peer in it.
    /// </summary>
    public int? GetNamespaceId(NetworkNamespace other)
    {
        ArgumentNullException.ThrowIfNull(other);
        int? id = null;
        Span<byte> buffer = stackalloc byte[64];
        var writer = new NetlinkWriter(buffer, Rtm.GetNsId, Nl.FlagRequest | Nl.FlagAck);
        writer.WriteHeader(new RtGenMsg());
        writer.WriteUInt32(Netnsa.Fd, (uint)other.DangerousGetFd());
        _socket.Execute(writer.Complete(), $"RTM_GETNSID {other.Path}", ref id, static (ref int? state, in NetlinkMessage m) => state ??= RtCodecs.ParseNsId(m));
        return id is null or Netnsa.NotAssigned ? null : id;
    }

    /// <summary>The link with this name, or null.</summary>
    public NetworkLink? FindLinkByName(string name)
    {
        RtCodecs.ValidateLinkName(name);
        NetworkLink? found = null;
        try
        {
            Span<byte> buffer = stackalloc byte[256];
            var writer = new NetlinkWriter(buffer, Rtm.GetLink, Nl.FlagRequest | Nl.FlagAck);
            writer.WriteHeader(new IfInfoMsg());
            writer.WriteString(Ifla.IfName, name);
            _socket.Execute(writer.Complete(), $"RTM_GETLINK {name}", ref found, static (ref NetworkLink? state, in NetlinkMessage m) => state ??= RtCodecs.ParseLink(m));
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            return null;
        }

        return found;
    }

    /// <summary>The link with this index, or null.</summary>
    public NetworkLink? FindLinkByIndex(int index)
    {
        NetworkLink? found = null;
        try
        {
            Span<byte> buffer = stackalloc byte[64];
            var writer = new NetlinkWriter(buffer, Rtm.GetLink, Nl.FlagRequest | Nl.FlagAck);
            writer.WriteHeader(new IfInfoMsg { Index = index });
            _socket.Execute(writer.Complete(), $"RTM_GETLINK #{index}", ref found, static (ref NetworkLink? state, in NetlinkMessage m) => state ??= RtCodecs.ParseLink(m));
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            return null;
        }

        return found;
    }

    /// <summary>The link with this MAC address, or null.</summary>
    public NetworkLink? FindLinkByHardwareAddress(PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        foreach (var link in GetLinks())
        {
            if (mac.Equals(link.HardwareAddress))
            {
                return link;
            }
        }

        return null;
    }

    /// <summary>Creates a veth, dummy or vlan link (EEXIST if the name is taken).</summary>
    public void CreateLink(LinkCreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Execute(Rtm.NewLink, Nl.FlagCreate | Nl.FlagExclusive, $"RTM_NEWLINK {request.Name}", request, static (ref NetlinkWriter w, LinkCreateRequest r) => RtCodecs.WriteLinkCreate(ref w, r));
    }

    /// <summary>Deletes a link (for a veth, both ends go).</summary>
    public void DeleteLink(int index) =>
        Execute(Rtm.DelLink, 0, $"RTM_DELLINK #{index}", index, static (ref NetlinkWriter w, int i) => w.WriteHeader(new IfInfoMsg { Index = i }));

    /// <summary>Deletes a link by name; returns false if it did not exist.</summary>
    public bool DeleteLink(string name)
    {
        var link = FindLinkByName(name);
        if (link is null)
        {
            return false;
        }

        try
        {
            DeleteLink(link.Index);
            return true;
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    public void SetLinkUp(int index) => SetLinkFlags(index, LinkFlags.Up, LinkFlags.Up);

    public void SetLinkDown(int index) => SetLinkFlags(index, LinkFlags.None, LinkFlags.Up);

    private void SetLinkFlags(int index, LinkFlags flags, LinkFlags change) =>
        Execute(Rtm.NewLink, 0, new NetlinkOperation((index, flags), static s => { var (i, f) = ((int, LinkFlags))s!; return $"RTM_NEWLINK #{i} flags={f}"; }), (index, flags, change),
            static (ref NetlinkWriter w, (int Index, LinkFlags Flags, LinkFlags Change) s) =>
                w.WriteHeader(new IfInfoMsg { Index = s.Index, Flags = (uint)s.Flags, Change = (uint)s.Change }));

    public void SetLinkMtu(int index, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 68);
        Execute(Rtm.NewLink, 0, $"RTM_NEWLINK #{index} mtu {mtu}", (index, mtu), static (ref NetlinkWriter w, (int Index, int Mtu) s) =>
        {
            w.WriteHeader(new IfInfoMsg { Index = s.Index });
            w.WriteUInt32(Ifla.Mtu, (uint)s.Mtu);
        });
    }

    public void SetLinkHardwareAddress(int index, PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        Execute(Rtm.NewLink, 0, new NetlinkOperation((index, mac), static s => { var (i, m) = ((int, PhysicalAddress))s!; return $"RTM_NEWLINK #{i} address {m}"; }), (index, mac), static (ref NetlinkWriter w, (int Index, PhysicalAddress Mac) s) =>
        {
            w.WriteHeader(new IfInfoMsg { Index = s.Index });
            RtCodecs.WriteHardwareAddress(ref w, s.Mac);
        });
    }

    /// <summary>Moves a link into another namespace (it disappears from this one).</summary>
    public void MoveLinkToNamespace(int index, NetworkNamespace target)
    {
        ArgumentNullException.ThrowIfNull(target);
        Execute(Rtm.NewLink, 0, $"RTM_NEWLINK #{index} netns {target.Path}", (index, target), static (ref NetlinkWriter w, (int Index, NetworkNamespace Ns) s) =>
        {
            w.WriteHeader(new IfInfoMsg { Index = s.Index });
            w.WriteUInt32(Ifla.NetNsFd, (uint)s.Ns.DangerousGetFd());
        });
    }

    // ---------------- addresses ----------------

    /// <summary>Addresses, optionally of one family and one link.</summary>
    public IReadOnlyList<InterfaceAddress> GetAddresses(AddressFamily family = AddressFamily.Unspecified, int? linkIndex = null)
    {
        var all = Dump<InterfaceAddress>(Rtm.GetAddr, "RTM_GETADDR dump", (ref NetlinkWriter w) => w.WriteHeader(new IfAddrMsg { Family = ToAf(family) }), RtCodecs.ParseAddress);
        return linkIndex is null ? all : all.Where(a => a.LinkIndex == linkIndex).ToList();
    }

    public void AddAddress(InterfaceAddress address) => ExecuteAddress(Rtm.NewAddr, Nl.FlagCreate | Nl.FlagExclusive, address);

    public void ReplaceAddress(InterfaceAddress address) => ExecuteAddress(Rtm.NewAddr, Nl.FlagCreate | Nl.FlagReplace, address);

    public void DeleteAddress(InterfaceAddress address) => ExecuteAddress(Rtm.DelAddr, 0, address);

    private void ExecuteAddress(ushort type, ushort flags, InterfaceAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Execute(type, flags, new NetlinkOperation((type, address), static s => { var (t, a) = ((ushort, InterfaceAddress))s!; return $"{Name(t)} {a}"; }), address, static (ref NetlinkWriter w, InterfaceAddress a) => RtCodecs.WriteAddress(ref w, a));
    }

    // ---------------- routes ----------------

    /// <summary>Routes matching the filter (all tables unless one is given).</summary>
    public IReadOnlyList<Route> GetRoutes(RouteFilter? filter = null)
    {
        filter ??= new RouteFilter();
        var family = filter.Family;
        var all = Dump<Route>(Rtm.GetRoute, "RTM_GETROUTE dump", (ref NetlinkWriter w) => w.WriteHeader(new RtMsg { Family = ToAf(family) }), RtCodecs.ParseRoute);
        return all.Where(r =>
            (filter.Table is null || r.Table == filter.Table) &&
            (filter.OutputLinkIndex is null || r.OutputLinkIndex == filter.OutputLinkIndex) &&
            (filter.Destination is null || r.Destination.Equals(filter.Destination))).ToList();
    }

    public void AddRoute(Route route) => ExecuteRoute(Rtm.NewRoute, Nl.FlagCreate | Nl.FlagExclusive, route);

    /// <summary>Adds or replaces the route with the same destination/table/metric.</summary>
    public void ReplaceRoute(Route route) => ExecuteRoute(Rtm.NewRoute, Nl.FlagCreate | Nl.FlagReplace, route);

    public void DeleteRoute(Route route) => ExecuteRoute(Rtm.DelRoute, 0, route);

    private void ExecuteRoute(ushort type, ushort flags, Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        Execute(type, flags, new NetlinkOperation((type, route), static s => { var (t, r) = ((ushort, Route))s!; return $"{Name(t)} {r}"; }), (route, type == Rtm.DelRoute),
            static (ref NetlinkWriter w, (Route Route, bool Delete) s) => RtCodecs.WriteRoute(ref w, s.Route, s.Delete));
    }

    // ---------------- rules ----------------

    public IReadOnlyList<RoutingRule> GetRules(AddressFamily family = AddressFamily.InterNetwork) =>
        Dump<RoutingRule>(Rtm.GetRule, "RTM_GETRULE dump", (ref NetlinkWriter w) => w.WriteHeader(new FibRuleHeader { Family = ToAf(family) }), RtCodecs.ParseRule);

    public void AddRule(RoutingRule rule) => ExecuteRule(Rtm.NewRule, Nl.FlagCreate | Nl.FlagExclusive, rule);

    public void DeleteRule(RoutingRule rule) => ExecuteRule(Rtm.DelRule, 0, rule);

    private void ExecuteRule(ushort type, ushort flags, RoutingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Execute(type, flags, new NetlinkOperation((type, rule), static s => { var (t, r) = ((ushort, RoutingRule))s!; return $"{Name(t)} {r}"; }), rule, static (ref NetlinkWriter w, RoutingRule r) => RtCodecs.WriteRule(ref w, r));
    }

    // ---------------- neighbours ----------------

    public IReadOnlyList<Neighbor> GetNeighbors(AddressFamily family = AddressFamily.InterNetwork, int? linkIndex = null)
    {
        var all = Dump<Neighbor>(Rtm.GetNeigh, "RTM_GETNEIGH dump", (ref NetlinkWriter w) => w.WriteHeader(new NdMsg { Family = ToAf(family) }), RtCodecs.ParseNeighbor);
        return linkIndex is null ? all : all.Where(n => n.LinkIndex == linkIndex).ToList();
    }

    public void AddNeighbor(Neighbor neighbor) => ExecuteNeighbor(Rtm.NewNeigh, Nl.FlagCreate | Nl.FlagExclusive, neighbor);

    public void ReplaceNeighbor(Neighbor neighbor) => ExecuteNeighbor(Rtm.NewNeigh, Nl.FlagCreate | Nl.FlagReplace, neighbor);

    public void DeleteNeighbor(Neighbor neighbor) => ExecuteNeighbor(Rtm.DelNeigh, 0, neighbor);

    private void ExecuteNeighbor(ushort type, ushort flags, Neighbor neighbor)
    {
        ArgumentNullException.ThrowIfNull(neighbor);
        Execute(type, flags, new NetlinkOperation((type, neighbor), static s => { var (t, n) = ((ushort, Neighbor))s!; return $"{Name(t)} {n.Address} dev #{n.LinkIndex}"; }), neighbor, static (ref NetlinkWriter w, Neighbor n) => RtCodecs.WriteNeighbor(ref w, n));
    }

    // ---------------- plumbing ----------------

    internal delegate void RequestBuilder<TState>(ref NetlinkWriter writer, TState state);

    internal delegate void DumpRequestBuilder(ref NetlinkWriter writer);

    internal delegate T? MessageParser<T>(in NetlinkMessage message) where T : class;

    private void Execute<TState>(ushort type, ushort flags, NetlinkOperation operation, TState state, RequestBuilder<TState> build)
    {
        // On the stack, not from ArrayPool.Shared: see NetlinkSocket's receive buffer.
        Span<byte> buffer = stackalloc byte[RequestBufferSize];
        var writer = new NetlinkWriter(buffer, type, (ushort)(Nl.FlagRequest | Nl.FlagAck | flags));
        build(ref writer, state);
        var none = 0;
        _socket.Execute<int>(writer.Complete(), operation, ref none, null);
    }

    private List<T> Dump<T>(ushort type, NetlinkOperation operation, DumpRequestBuilder build, MessageParser<T> parse) where T : class
    {
        Span<byte> buffer = stackalloc byte[64];
        for (var attempt = 1; ; attempt++)
        {
            var writer = new NetlinkWriter(buffer, type, Nl.FlagRequest | Nl.FlagDump);
            build(ref writer);
            var state = (Items: new List<T>(), Parse: parse);
            try
            {
                _socket.Execute(writer.Complete(), operation, ref state, static (ref (List<T> Items, MessageParser<T> Parse) s, in NetlinkMessage m) =>
                {
                    if (s.Parse(m) is { } item)
                    {
                        s.Items.Add(item);
                    }
                });
                return state.Items;
            }
            catch (NetlinkDumpInterruptedException) when (attempt < DumpAttempts)
            {
                // The kernel changed the table mid-dump; a fresh dump is consistent (netlinksafe does the same).
            }
        }
    }

    private static byte ToAf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Af.Inet,
        AddressFamily.InterNetworkV6 => Af.Inet6,
        _ => Af.Unspecified,
    };

    private static string Name(ushort type) => type switch
    {
        Rtm.NewAddr => "RTM_NEWADDR",
        Rtm.DelAddr => "RTM_DELADDR",
        Rtm.NewRoute => "RTM_NEWROUTE",
        Rtm.DelRoute => "RTM_DELROUTE",
        Rtm.NewRule => "RTM_NEWRULE",
        Rtm.DelRule => "RTM_DELRULE",
        Rtm.NewNeigh => "RTM_NEWNEIGH",
        Rtm.DelNeigh => "RTM_DELNEIGH",
        _ => "RTM_" + type.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public void Dispose() => _socket.Dispose();
}
