using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Sysctl;

namespace VpcCni.Linux.Host;

/// <summary>A secondary ENI to configure (upstream <c>setupENINetwork</c>).</summary>
/// <param name="MacAddress">The ENI's MAC (the link is found by it: names can change).</param>
/// <param name="PrimaryAddress">The ENI's primary private IP.</param>
/// <param name="Subnet">The ENI's subnet; the address gets its prefix length and the gateway is network + 1.</param>
/// <param name="RouteTable">The ENI's table (device index + 1, or 10000 + 100·card + device).</param>
public sealed record SecondaryEniConfiguration(PhysicalAddress MacAddress, IPAddress PrimaryAddress, IPNetwork Subnet, int RouteTable)
{
    /// <summary>AWS_VPC_ENI_MTU.</summary>
    public int Mtu { get; init; } = 9001;
}

/// <summary>The primary ENI and the host-wide knobs upstream's init and ipamd set.</summary>
public sealed record PrimaryEniConfiguration(PhysicalAddress MacAddress)
{
    /// <summary>AWS_VPC_ENI_MTU.</summary>
    public int Mtu { get; init; } = 9001;

    /// <summary>AWS_VPC_K8S_CNI_CONNMARK (default 0x80).</summary>
    public uint ConnectionMark { get; init; } = 0x80;

    /// <summary>AWS_VPC_CNI_NODE_PORT_SUPPORT.</summary>
    public bool NodePortSupport { get; init; } = true;

    /// <summary>AWS_VPC_K8S_CNI_EXTERNALSNAT.</summary>
    public bool ExternalSnat { get; init; }

    /// <summary>ENABLE_IPv6 (also sets the IPv6 forwarding/accept_ra sysctls).</summary>
    public bool EnableIPv6 { get; init; }

    /// <summary>
    /// ENABLE_V6_EGRESS in an IPv4 cluster: the IPv6 forwarding/accept_ra sysctls (egress-cni routes pods' IPv6 through the host)
    /// and the ip6tables FORWARD reject for fd00::ac:00/118.
    /// </summary>
    public bool EnableV6Egress { get; init; }
}

/// <summary>
/// Host-side datapath the daemon drives (upstream §4.1), applied to the namespace it was opened on.
/// Every operation is idempotent: running it on an ENI that is already set up changes nothing.
/// </summary>
public sealed class HostNetworkDatapath : IDisposable
{
    /// <summary>Priority of <c>from &lt;ENI primary IP&gt; lookup &lt;table&gt;</c>.</summary>
    public const int EniRulePriority = 32765;

    /// <summary>Priority of the connmark <c>fwmark</c> rule.</summary>
    public const int ConnmarkRulePriority = 1024;

    /// <summary>Priority of the <c>to &lt;AWS_EXTERNAL_SERVICE_CIDRS item&gt; lookup main</c> rules.</summary>
    public const int ExternalServiceRulePriority = 1535;

    private readonly NetworkNamespace _namespace;
    private readonly RtNetlinkClient _client;
    private readonly NamespaceSysctl _sysctl;
    private readonly NetworkNamespaceExecutor _executor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public HostNetworkDatapath(NetworkNamespace hostNamespace, TimeProvider? timeProvider = null, NetworkNamespaceExecutor? executor = null, ILogger<HostNetworkDatapath>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(hostNamespace);
        _namespace = hostNamespace;
        _client = RtNetlinkClient.Open(hostNamespace, executor);
        _sysctl = new NamespaceSysctl(executor);
        _executor = executor ?? NetworkNamespaceExecutor.Shared;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Attempts and spacing of the find-by-MAC retry (upstream: 5 × 3 s).</summary>
    public int FindLinkAttempts { get; init; } = 5;

    public TimeSpan FindLinkInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The iptables/ip6tables binaries for the FORWARD rejects of the primary ENI setup.</summary>
    public NetfilterTools NetfilterTools { get; init; } = new();

    /// <summary>The link with this MAC, retried because a freshly attached ENI takes time to appear.</summary>
    public async Task<NetworkLink> FindLinkByMacAsync(PhysicalAddress mac, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mac);
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_client.FindLinkByHardwareAddress(mac) is { } link)
            {
                return link;
            }

            if (attempt >= FindLinkAttempts)
            {
                throw new InvalidOperationException($"No link with MAC {FormatMac(mac)} after {attempt} attempts.");
            }

            _logger.EniNotFoundYet(mac, attempt);
            await Task.Delay(FindLinkInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Configures a secondary ENI: MTU, up, address, its table's routes, subnet route removal and the 32765 rule.</summary>
    public async Task<NetworkLink> SetupSecondaryEniAsync(SecondaryEniConfiguration eni, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        if (eni.RouteTable is <= 0 or RouteTable.Main or RouteTable.Local or RouteTable.Default)
        {
            throw new ArgumentException($"Route table {eni.RouteTable} is reserved; secondary ENIs need their own table.", nameof(eni));
        }

        if (!eni.Subnet.Contains(eni.PrimaryAddress))
        {
            throw new ArgumentException($"ENI address {eni.PrimaryAddress} is outside its subnet {eni.Subnet}.", nameof(eni));
        }

        var link = await FindLinkByMacAsync(eni.MacAddress, cancellationToken).ConfigureAwait(false);
        var family = eni.PrimaryAddress.AddressFamily;
        var isV6 = family == AddressFamily.InterNetworkV6;
        if (link.Mtu != eni.Mtu)
        {
            _client.SetLinkMtu(link.Index, eni.Mtu);
        }

        if (!link.IsUp)
        {
            _client.SetLinkUp(link.Index);
        }

        // Exactly one global address of the family: the ENI primary IP with the subnet prefix.
        var hasAddress = false;
        foreach (var address in _client.GetAddresses(family, link.Index).Where(a => a.Scope == RouteScope.Universe))
        {
            if (address.Address.Equals(eni.PrimaryAddress) && address.PrefixLength == eni.Subnet.PrefixLength)
            {
                hasAddress = true;
                continue;
            }

            IgnoreNotFound(() => _client.DeleteAddress(address));
        }

        if (!hasAddress)
        {
            _client.AddAddress(new InterfaceAddress(link.Index, eni.PrimaryAddress, eni.Subnet.PrefixLength) { Flags = isV6 ? 0x02u : 0u });
        }

        var gateway = isV6 ? IPAddress.Parse("fe80:ec2::1") : Add(eni.Subnet.BaseAddress, 1);
        var hostPrefix = isV6 ? 128 : 32;
        _client.ReplaceRoute(new Route(new IPNetwork(gateway, hostPrefix)) { OutputLinkIndex = link.Index, Scope = RouteScope.Link, Table = eni.RouteTable });
        var any = isV6 ? new IPNetwork(IPAddress.IPv6Any, 0) : new IPNetwork(IPAddress.Any, 0);
        _client.ReplaceRoute(new Route(any) { Gateway = gateway, OutputLinkIndex = link.Index, Table = eni.RouteTable });

        // The kernel's subnet route in main would send replies out of the wrong ENI.
        foreach (var route in _client.GetRoutes(new RouteFilter { Family = family, Table = RouteTable.Main, Destination = eni.Subnet, OutputLinkIndex = link.Index }))
        {
            IgnoreNotFound(() => _client.DeleteRoute(route));
        }

        var eniHost = new IPNetwork(eni.PrimaryAddress, hostPrefix);
        var wanted = new RoutingRule(family) { Priority = EniRulePriority, Source = eniHost, Table = eni.RouteTable };
        if (!_client.GetRules(family).Any(r => r.Priority == EniRulePriority && eniHost.Equals(r.Source) && r.Table == eni.RouteTable))
        {
            _client.AddRule(wanted);
        }

        _logger.EniConfigured(eni.MacAddress, link.Name, eni.PrimaryAddress, eni.Subnet.PrefixLength, eni.RouteTable);
        return _client.FindLinkByIndex(link.Index) ?? link;
    }

    /// <summary>Removes every rule whose source is the ENI's primary IP (upstream <c>DeleteRulesBySrc</c> when an ENI is freed).</summary>
    public void RemoveSecondaryEniRules(IPAddress eniPrimaryAddress)
    {
        ArgumentNullException.ThrowIfNull(eniPrimaryAddress);
        var host = new IPNetwork(eniPrimaryAddress, eniPrimaryAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
        foreach (var rule in _client.GetRules(eniPrimaryAddress.AddressFamily).Where(r => host.Equals(r.Source)))
        {
            IgnoreNotFound(() => _client.DeleteRule(rule));
        }
    }

    /// <summary>
    /// Primary ENI: MTU, sysctls (rp_filter loose, IPv6 knobs), the node-local pod FORWARD reject (IPv6 mode or
    /// IPv6 egress) and the connmark fwmark rule at 1024.
    /// </summary>
    public async Task<NetworkLink> SetupPrimaryEniAsync(PrimaryEniConfiguration primary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(primary);
        if (primary.ConnectionMark == 0)
        {
            throw new ArgumentException("AWS_VPC_K8S_CNI_CONNMARK must be non-zero.", nameof(primary));
        }

        var link = await FindLinkByMacAsync(primary.MacAddress, cancellationToken).ConfigureAwait(false);
        if (link.Mtu != primary.Mtu)
        {
            _client.SetLinkMtu(link.Index, primary.Mtu);
        }

        _sysctl.Write(_namespace, $"net/ipv4/conf/{link.Name}/rp_filter", "2");
        // tcp_early_demux is the init command's (DISABLE_TCP_EARLY_DEMUX), as upstream: writing it here undid that on every start.
        if (primary.EnableIPv6)
        {
            _sysctl.Write(_namespace, "net/ipv6/conf/all/disable_ipv6", "0", ignoreMissing: true);
        }

        // Upstream's SetupHostNetwork sets these for IPv6 and for IPv6 egress (keeping the primary's RA-learnt route).
        if (primary.EnableIPv6 || primary.EnableV6Egress)
        {
            _sysctl.Write(_namespace, "net/ipv6/conf/all/forwarding", "1", ignoreMissing: true);
            _sysctl.Write(_namespace, $"net/ipv6/conf/{link.Name}/accept_ra", "2", ignoreMissing: true);
        }

        // The egress-cni addresses of the other family are for the node's own use: block new forwarded connections to them.
        if (primary.EnableIPv6 || primary.EnableV6Egress)
        {
            new NodeLocalPodBlock(_namespace, NetfilterTools, new ToolRunner(_executor)).Ensure(ipv6: !primary.EnableIPv6);
        }

        var family = primary.EnableIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var mark = primary.ConnectionMark;
        var wantRule = primary.NodePortSupport || !primary.ExternalSnat;
        var existing = _client.GetRules(family).Where(r => r.Priority == ConnmarkRulePriority && r.FirewallMark == mark && r.Table == RouteTable.Main).ToList();
        var exact = existing.Count == 1 && existing[0].FirewallMask == mark && existing[0].Source is null && existing[0].Destination is null;
        if (!(wantRule && exact))
        {
            foreach (var rule in existing)
            {
                IgnoreNotFound(() => _client.DeleteRule(rule));
            }

            if (wantRule)
            {
                _client.AddRule(new RoutingRule(family) { Priority = ConnmarkRulePriority, FirewallMark = mark, FirewallMask = mark, Table = RouteTable.Main });
            }
        }

        _logger.PrimaryEniConfigured(link.Name, primary.Mtu, wantRule);
        return _client.FindLinkByIndex(link.Index) ?? link;
    }

    /// <summary>
    /// AWS_EXTERNAL_SERVICE_CIDRS (upstream <c>UpdateExternalServiceIpRules</c>): one <c>to &lt;cidr&gt; lookup main</c>
    /// rule at priority 1535 per CIDR, so traffic to them leaves by the primary ENI even from pods whose source rule
    /// (1536) points at a secondary ENI's table. Every other priority-1535 main-table rule is removed; the wanted ones
    /// that exist are kept (the same end state as upstream's delete-all-and-re-add, without a gap).
    /// </summary>
    public void UpdateExternalServiceRules(IReadOnlyList<IPNetwork> cidrs)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        var existing = _client.GetRules(AddressFamily.InterNetwork)
            .Where(r => r.Priority == ExternalServiceRulePriority && r.Table == RouteTable.Main)
            .ToList();
        var kept = new HashSet<IPNetwork>();
        foreach (var rule in existing)
        {
            var exact = rule.Destination is { } to && cidrs.Contains(to) && rule.Source is null && rule.FirewallMark is null &&
                rule.InputInterface is null && rule.OutputInterface is null && !rule.Invert;
            if (exact && kept.Add(rule.Destination!.Value))
            {
                continue;
            }

            IgnoreNotFound(() => _client.DeleteRule(rule));
        }

        foreach (var cidr in cidrs.Where(c => !kept.Contains(c)).Distinct())
        {
            _client.AddRule(new RoutingRule(AddressFamily.InterNetwork) { Priority = ExternalServiceRulePriority, Destination = cidr, Table = RouteTable.Main });
        }
    }

    private static IPAddress Add(IPAddress address, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        var number = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes) + (uint)value;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, number);
        return new IPAddress(bytes);
    }

    private static string FormatMac(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private static void IgnoreNotFound(Action action)
    {
        try
        {
            action();
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
        }
    }

    public void Dispose() => _client.Dispose();
}
