using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Sysctl;

namespace VpcCni.Lab;

/// <summary>
/// Namespaces, links, addresses and routes of the lab, all made over netlink inside namespaces the lab owns
/// (names start with <see cref="Prefix"/>); nothing is ever changed in the machine's root namespace.
/// </summary>
internal sealed class LabFabric : IDisposable
{
    /// <summary>"NAME-": set once per process from --name before any namespace is made.</summary>
    public static string Prefix { get; private set; } = LabOptions.DefaultName + "-";

    public static void UseName(string name) => Prefix = name + "-";

    private readonly Dictionary<string, NetworkNamespace> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RtNetlinkClient> _clients = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly NamespaceSysctl _sysctl = new();

    public NetworkNamespace Namespace(string name)
    {
        lock (_gate)
        {
            return _namespaces[name];
        }
    }

    public RtNetlinkClient Netlink(string name)
    {
        lock (_gate)
        {
            return _clients[name];
        }
    }

    /// <summary>IFA_F_NODAD: the fabric's own IPv6 addresses are usable at once (they are unique by construction).</summary>
    public const uint NoDad = 0x02;

    /// <summary>
    /// Creates a namespace with loopback up; forwarding on when it routes. <paramref name="ipv6Forwarding"/> is for the
    /// fabric's routers only: a node's IPv6 forwarding is the daemon's to set, as on a real node.
    /// </summary>
    public void CreateNamespace(string name, bool forwarding, bool proxyArp = false, bool ipv6Forwarding = false)
    {
        var full = Prefix + name;
        NetworkNamespace.Create(full);
        var ns = NetworkNamespace.OpenByName(full);
        var client = RtNetlinkClient.Open(ns);
        lock (_gate)
        {
            _namespaces[name] = ns;
            _clients[name] = client;
        }

        var lo = client.FindLinkByName("lo") ?? throw new InvalidOperationException($"{full} has no lo");
        client.SetLinkUp(lo.Index);
        _sysctl.Write(ns, "net/ipv4/ip_forward", forwarding ? "1" : "0");

        // Loose reverse-path filtering: the fabric routes asymmetrically like a VPC does.
        _sysctl.Write(ns, "net/ipv4/conf/all/rp_filter", "0");
        _sysctl.Write(ns, "net/ipv4/conf/default/rp_filter", "0");

        // The VPC fabric answers ARP for every address it routes (an instance ARPs for same-subnet peers directly).
        _sysctl.Write(ns, "net/ipv4/conf/all/proxy_arp", proxyArp ? "1" : "0");
        if (ipv6Forwarding)
        {
            _sysctl.Write(ns, "net/ipv6/conf/all/forwarding", "1");
        }
    }

    /// <summary>Deletes one namespace this fabric made (a pod's, when the runtime removes its sandbox).</summary>
    public void DeleteNamespace(string name)
    {
        lock (_gate)
        {
            if (_clients.Remove(name, out var client))
            {
                client.Dispose();
            }

            if (_namespaces.Remove(name, out var ns))
            {
                ns.Dispose();
            }
        }

        try
        {
            NetworkNamespace.Delete(Prefix + name);
        }
        catch (IOException)
        {
            // Already gone; RemoveAll retries leftovers at tear-down.
        }
    }

    /// <summary>Opens a namespace an earlier `vpc-cni-lab up` made.</summary>
    public void Attach(string name)
    {
        var ns = NetworkNamespace.OpenByName(Prefix + name);
        lock (_gate)
        {
            _namespaces[name] = ns;
            _clients[name] = RtNetlinkClient.Open(ns);
        }
    }

    public static string FullName(string name) => Prefix + name;

    /// <summary>A veth between two lab namespaces; returns the two link indexes.</summary>
    public (int Left, int Right) Connect(string leftNs, string leftName, string rightNs, string rightName, PhysicalAddress? leftMac = null, int mtu = 9001)
    {
        var left = Netlink(leftNs);
        left.CreateLink(new VethCreateRequest(leftName, rightName)
        {
            Mtu = mtu,
            HardwareAddress = leftMac,
            PeerNamespace = Namespace(rightNs),
            PeerMtu = mtu,
        });
        var l = left.FindLinkByName(leftName) ?? throw new InvalidOperationException($"{leftName} missing after creation");
        var r = Netlink(rightNs).FindLinkByName(rightName) ?? throw new InvalidOperationException($"{rightName} missing after creation");
        Netlink(rightNs).SetLinkUp(r.Index);
        return (l.Index, r.Index);
    }

    public void Up(string ns, int index) => Netlink(ns).SetLinkUp(index);

    /// <summary>An address on a link; IPv6 ones without duplicate address detection (<see cref="NoDad"/>).</summary>
    public void Address(string ns, int index, IPAddress address, int prefix) =>
        Netlink(ns).ReplaceAddress(new InterfaceAddress(index, address, prefix)
        {
            Flags = address.AddressFamily == AddressFamily.InterNetworkV6 ? NoDad : 0,
        });

    public void Route(string ns, IPNetwork destination, IPAddress? via = null, int? device = null, RouteScope? scope = null) =>
        Netlink(ns).ReplaceRoute(new Route(destination)
        {
            Gateway = via,
            OutputLinkIndex = device,
            // IPv6 routes are always universe scope (the kernel has no link scope for them).
            Scope = destination.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6
                ? RouteScope.Universe
                : scope ?? (via is null ? RouteScope.Link : RouteScope.Universe),
        });

    public void DeleteRoute(string ns, IPNetwork destination)
    {
        var client = Netlink(ns);
        foreach (var route in client.GetRoutes(new RouteFilter { Table = RouteTable.Main, Destination = destination }))
        {
            try
            {
                client.DeleteRoute(route);
            }
            catch (NetlinkException ex) when (ex.IsNotFound)
            {
            }
        }
    }

    public bool DeleteLink(string ns, string name) => Netlink(ns).DeleteLink(name);

    /// <summary>A socket that lives in a lab namespace (created on a thread inside it; usable from any thread).</summary>
    public Socket Socket(string ns, SocketType type, ProtocolType protocol, AddressFamily family = AddressFamily.InterNetwork) =>
        NetworkNamespaceExecutor.Shared.Invoke(Namespace(ns), static t => new Socket(t.family, t.type, t.protocol), (type, protocol, family));

    /// <summary>Runs <paramref name="work"/> on a thread inside a lab namespace.</summary>
    public void Inside(string ns, Action work) => NetworkNamespaceExecutor.Shared.Invoke(Namespace(ns), work);

    /// <summary>Deletes every namespace the lab made (and leftovers of earlier runs, found by name).</summary>
    public static IReadOnlyList<string> RemoveAll()
    {
        var removed = new List<string>();
        if (!Directory.Exists(NetworkNamespace.NamedNamespaceDirectory))
        {
            return removed;
        }

        foreach (var path in Directory.GetFiles(NetworkNamespace.NamedNamespaceDirectory, Prefix + "*"))
        {
            var name = System.IO.Path.GetFileName(path);
            try
            {
                NetworkNamespace.Delete(name);
                removed.Add(name);
            }
            catch (IOException)
            {
                // Busy or already gone; a later run retries.
            }
        }

        return removed;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var client in _clients.Values)
            {
                client.Dispose();
            }

            foreach (var ns in _namespaces.Values)
            {
                ns.Dispose();
            }

            _clients.Clear();
            _namespaces.Clear();
        }
    }
}
