using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cni;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Sysctl;

namespace VpcCni.Linux.Egress;

/// <summary>
/// Upstream egress-cni's datapath (§4.6) for one pod: a veth <c>v4if0</c>/<c>v6if0</c> into the pod, its address and
/// routes, the host end's address and route back, and the per-pod SNAT chain to the node address. Setup undoes what it
/// did when a step fails; teardown is idempotent and needs neither the pod's namespace nor its address.
/// </summary>
public sealed class EgressDatapath : IDisposable
{
    /// <summary>The pod-side interface of IPv4 egress (IPv6 pods).</summary>
    public const string IPv4InterfaceName = "v4if0";

    /// <summary>The pod-side interface of IPv6 egress (IPv4 pods).</summary>
    public const string IPv6InterfaceName = "v6if0";

    private const uint AddressFlagDadFailed = 0x08;
    private const uint AddressFlagTentative = 0x40;
    private const int HostRouteAttempts = 5;
    private static readonly TimeSpan HostRouteRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DadTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DadPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly NetworkNamespace _hostNamespace;
    private readonly RtNetlinkClient _host;
    private readonly NetworkNamespaceExecutor _executor;
    private readonly NamespaceSysctl _sysctl;
    private readonly EgressSnat _snat;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public EgressDatapath(NetworkNamespace hostNamespace, NetfilterTools? tools = null, NetworkNamespaceExecutor? executor = null, TimeProvider? timeProvider = null, ILogger<EgressDatapath>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(hostNamespace);
        _hostNamespace = hostNamespace;
        _executor = executor ?? NetworkNamespaceExecutor.Shared;
        _sysctl = new NamespaceSysctl(_executor);
        _snat = new EgressSnat(hostNamespace, tools ?? new NetfilterTools(), new ToolRunner(_executor));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _host = RtNetlinkClient.Open(hostNamespace, _executor);
    }

    /// <summary>The pod's nat chain: "CNI-E4-"/"CNI-E6-" + hex SHA-512(network + containerID), 28 characters in all.</summary>
    public static string ChainName(string networkName, string containerId, bool ipv6Egress) =>
        EgressSnat.ChainName(ipv6Egress ? "E6-" : "E4-", networkName, containerId);

    /// <summary>The comment on every rule of the pod: <c>name: "&lt;network&gt;" id: "&lt;containerID&gt;"</c>.</summary>
    public static string RuleComment(string networkName, string containerId) => EgressSnat.Comment(networkName, containerId);

    /// <summary>Wires the egress interface. On failure everything made so far is removed and the error names the step.</summary>
    public async Task<EgressSetupResult> SetupAsync(EgressRequest request, CancellationToken cancellationToken = default)
    {
        var (address, gateway) = Validate(request);
        var ipv6 = request.IsIPv6Egress;
        var egress = request.EgressInterfaceName;
        var chain = ChainName(request.NetworkName, request.ContainerId, ipv6);
        var comment = RuleComment(request.NetworkName, request.ContainerId);
        var undo = new Stack<(string Name, Action Action)>();
        using var podNamespace = NetworkNamespace.Open(request.PodNamespacePath);
        using var pod = RtNetlinkClient.Open(podNamespace, _executor);
        var step = "";
        try
        {
            step = ipv6 ? $"disable IPv6 on {request.PodInterfaceName}" : "enable IPv4 forwarding";
            if (ipv6)
            {
                var key = $"net/ipv6/conf/{request.PodInterfaceName}/disable_ipv6";
                var previous = _sysctl.Read(podNamespace, key) ?? throw new InvalidOperationException($"pod interface {request.PodInterfaceName} not found (no {key})");
                if (previous != "1")
                {
                    _sysctl.Write(podNamespace, key, "1");
                    undo.Push(($"restore {key}={previous}", () => _sysctl.Write(podNamespace, key, previous, ignoreMissing: true)));
                }
            }
            else if (_sysctl.Read(_hostNamespace, "net/ipv4/ip_forward") != "1")
            {
                // Not undone: other pods' egress depends on it once set (upstream leaves it too).
                _sysctl.Write(_hostNamespace, "net/ipv4/ip_forward", "1");
            }

            step = $"create veth {egress}";
            if (pod.FindLinkByName(egress) is not null)
            {
                throw new InvalidOperationException($"container veth name provided ({egress}) already exists");
            }

            var hostName = CreateVeth(podNamespace, egress, request.Mtu);
            undo.Push(($"delete veth {hostName}", () => _host.DeleteLink(hostName)));
            var hostLink = _host.FindLinkByName(hostName) ?? throw new InvalidOperationException($"host veth {hostName} vanished after creation");
            var container = pod.FindLinkByName(egress) ?? throw new InvalidOperationException($"container veth {egress} vanished after creation");

            step = $"configure {egress}";
            if (ipv6)
            {
                _sysctl.Write(podNamespace, $"net/ipv6/conf/{egress}/disable_ipv6", "0", ignoreMissing: true);
            }

            pod.AddAddress(new InterfaceAddress(container.Index, address.Address, address.PrefixLength));
            pod.SetLinkUp(container.Index);
            _host.SetLinkUp(hostLink.Index);
            if (ipv6)
            {
                await ConfigureIPv6Async(request, pod, container, hostLink, address, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                step = "configure routes";
                await ConfigureIPv4Async(request, pod, container, hostLink, address, gateway!, cancellationToken).ConfigureAwait(false);
            }

            step = $"add nat chain {chain}";
            undo.Push(($"remove nat chain {chain}", () => _snat.Remove(ipv6, chain)));
            _snat.Add(ipv6, chain, comment, address.Address, request.NodeAddress, request.Randomization);

            _logger.EgressWired(request.ContainerId, egress, address.Address, hostName, chain);
            return new EgressSetupResult(hostName, hostLink.HardwareAddress, egress, container.HardwareAddress);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || undo.Count > 0)
        {
            _logger.EgressSetupRollingBack(ex, request.ContainerId, step, undo.Count);
            while (undo.TryPop(out var action))
            {
                try
                {
                    action.Action();
                }
                catch (Exception rollbackError) when (rollbackError is NetlinkException or IOException or NetfilterException or UnauthorizedAccessException)
                {
                    _logger.EgressRollbackStepFailed(rollbackError, action.Name);
                }
            }

            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw new InvalidOperationException($"egress setup failed ({step}): {ex.Message}", ex);
        }
    }

    private string CreateVeth(NetworkNamespace podNamespace, string egress, int mtu)
    {
        // A random host name as the CNI plugins' veth helper makes ("veth" + 8 hex); a clash with a live link is retried.
        for (var attempt = 0; ; attempt++)
        {
            var name = "veth" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
            try
            {
                _host.CreateLink(new VethCreateRequest(name, egress) { Mtu = mtu, PeerNamespace = podNamespace, PeerMtu = mtu });
                return name;
            }
            catch (NetlinkException ex) when (ex.IsAlreadyExists && attempt < 10 && _host.FindLinkByName(name) is not null)
            {
            }
        }
    }

    private async Task ConfigureIPv4Async(EgressRequest request, RtNetlinkClient pod, NetworkLink container, NetworkLink hostLink, IPAddressAndPrefix address, IPAddress gateway, CancellationToken cancellationToken)
    {
        // A veth is not point-to-point: keep the address's prefix but make the gateway the only on-link neighbour, so
        // that everything in the subnet, and the default route, goes through the host end (the CNI ptp plugin's trick).
        var subnet = address.Network;
        IgnoreNotFound(() => pod.DeleteRoute(new Route(subnet) { OutputLinkIndex = container.Index, Scope = RouteScope.Link }));
        pod.ReplaceRoute(new Route(new IPNetwork(gateway, 32)) { OutputLinkIndex = container.Index, Scope = RouteScope.Link, PreferredSource = address.Address });
        pod.ReplaceRoute(new Route(subnet) { OutputLinkIndex = container.Index, Gateway = gateway, PreferredSource = address.Address });
        foreach (var destination in request.Routes)
        {
            pod.ReplaceRoute(new Route(destination) { OutputLinkIndex = container.Index, Gateway = gateway });
        }

        try
        {
            _host.AddAddress(new InterfaceAddress(hostLink.Index, gateway, 32) { Scope = RouteScope.Link });
        }
        catch (NetlinkException ex) when (ex.IsAlreadyExists)
        {
        }

        var back = new Route(new IPNetwork(address.Address, 32)) { OutputLinkIndex = hostLink.Index, Scope = RouteScope.Link };
        await AddHostRouteAsync(back, cancellationToken).ConfigureAwait(false);
    }

    private async Task ConfigureIPv6Async(EgressRequest request, RtNetlinkClient pod, NetworkLink container, NetworkLink hostLink, IPAddressAndPrefix address, CancellationToken cancellationToken)
    {
        // The ULA goes through DAD (as upstream): the pod may not send from it while it is tentative.
        await WaitAsync(
            () =>
            {
                var addresses = pod.GetAddresses(AddressFamily.InterNetworkV6, container.Index);
                var failed = addresses.FirstOrDefault(a => (a.Flags & AddressFlagDadFailed) != 0);
                return failed is not null
                    ? throw new InvalidOperationException($"duplicate address detection failed for {failed.Address} on {container.Name}")
                    : addresses.Count > 0 && addresses.All(a => (a.Flags & AddressFlagTentative) == 0);
            },
            $"addresses on {container.Name} still tentative after {DadTimeout.TotalSeconds} s",
            cancellationToken).ConfigureAwait(false);

        // The pod routes through the host end's link-local address, which the kernel adds once the link has carrier.
        IPAddress? hostLinkLocal = null;
        await WaitAsync(
            () => (hostLinkLocal = _host.GetAddresses(AddressFamily.InterNetworkV6, hostLink.Index).FirstOrDefault(a => a.Address.IsIPv6LinkLocal)?.Address) is not null,
            $"host veth {hostLink.Name} has no link-local IPv6 address",
            cancellationToken).ConfigureAwait(false);

        var routes = request.Routes.Count > 0 ? request.Routes : [new IPNetwork(IPAddress.IPv6Any, 0)];
        foreach (var destination in routes)
        {
            pod.ReplaceRoute(new Route(destination) { OutputLinkIndex = container.Index, Gateway = hostLinkLocal });
        }

        var back = new Route(new IPNetwork(address.Address, 128)) { OutputLinkIndex = hostLink.Index, Scope = RouteScope.Host };
        await AddHostRouteAsync(back, cancellationToken).ConfigureAwait(false);
    }

    private async Task AddHostRouteAsync(Route route, CancellationToken cancellationToken)
    {
        // A route for the same address may still belong to a veth the kernel is removing (a quick re-ADD): retry
        // briefly, then take the route over.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _host.AddRoute(route);
                return;
            }
            catch (NetlinkException ex) when (ex.IsAlreadyExists)
            {
                if (attempt >= HostRouteAttempts)
                {
                    _host.ReplaceRoute(route);
                    return;
                }
            }

            await Task.Delay(HostRouteRetryDelay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(Func<bool> done, string timeoutMessage, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        while (!done())
        {
            if (_time.GetElapsedTime(start) >= DadTimeout)
            {
                throw new TimeoutException(timeoutMessage);
            }

            await Task.Delay(DadPollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes the pod's SNAT chain and every POSTROUTING jump to it, and the egress veth when the pod's namespace is
    /// still there. Idempotent: nothing left, a missing namespace or an empty <see cref="EgressRequest.PodNamespacePath"/>
    /// are not errors. Returns true when anything was removed.
    /// </summary>
    public bool Teardown(EgressRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ipv6 = request.IsIPv6Egress;
        // By chain name, not by the pod's address: the jump goes too when the namespace (and so the address) is gone.
        var removed = _snat.Remove(ipv6, ChainName(request.NetworkName, request.ContainerId, ipv6));
        if (!string.IsNullOrEmpty(request.PodNamespacePath))
        {
            try
            {
                using var podNamespace = NetworkNamespace.Open(request.PodNamespacePath);
                using var pod = RtNetlinkClient.Open(podNamespace, _executor);
                removed |= pod.DeleteLink(request.EgressInterfaceName);
            }
            catch (Exception ex) when (ex is NetworkNamespaceNotFoundException or NotANetworkNamespaceException)
            {
                // The namespace is gone, and the veth pair with it.
            }
        }

        _logger.EgressTornDown(request.ContainerId, request.EgressInterfaceName, removed);
        return removed;
    }

    /// <summary>What differs from what <see cref="SetupAsync"/> makes; empty when the attachment is intact.</summary>
    /// <remarks>Without <see cref="EgressRequest.Address"/> the interface's own address is checked (a CHECK has no IPAM
    /// result to compare with); without <see cref="EgressRequest.Gateway"/> the host end's address is not checked.</remarks>
    public IReadOnlyList<string> Check(EgressRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.PodNamespacePath);
        var ipv6 = request.IsIPv6Egress;
        var gateway = ipv6 ? null : request.Gateway;
        var egress = request.EgressInterfaceName;
        var differences = new List<string>();
        using var podNamespace = NetworkNamespace.Open(request.PodNamespacePath);
        using var pod = RtNetlinkClient.Open(podNamespace, _executor);
        var container = pod.FindLinkByName(egress);
        if (container is null)
        {
            differences.Add($"{egress} is missing from {request.PodNamespacePath}");
            return differences;
        }

        if (!container.IsUp)
        {
            differences.Add($"{egress} is down");
        }

        var family = ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var live = pod.GetAddresses(family, container.Index).Where(a => !a.Address.IsIPv6LinkLocal).ToList();
        var expected = request.Address ?? (live.Count > 0 ? new IPAddressAndPrefix(live[0].Address, live[0].PrefixLength) : null);
        if (expected is not { } address)
        {
            differences.Add($"{egress} has no {(ipv6 ? "IPv6" : "IPv4")} address");
            return differences;
        }

        if (!live.Any(a => a.Address.Equals(address.Address) && a.PrefixLength == address.PrefixLength))
        {
            differences.Add($"{address} is not on {egress}");
        }

        // The host end is the veth's peer: IFLA_LINK names its index in the host namespace.
        var hostLink = container.ParentIndex is { } peer ? _host.FindLinkByIndex(peer) : null;
        if (hostLink is null || hostLink.Kind != "veth")
        {
            differences.Add($"the host end of {egress} is missing");
        }
        else
        {
            var hostRoutes = _host.GetRoutes(new RouteFilter { Family = family, Table = RouteTable.Main, OutputLinkIndex = hostLink.Index });
            var podHost = new IPNetwork(address.Address, ipv6 ? 128 : 32);
            if (!hostRoutes.Any(r => r.Destination == podHost))
            {
                differences.Add($"host route {podHost} dev {hostLink.Name} is missing");
            }

            if (gateway is not null && !_host.GetAddresses(family, hostLink.Index).Any(a => a.Address.Equals(gateway)))
            {
                differences.Add($"gateway {gateway} is not on {hostLink.Name}");
            }
        }

        var podRoutes = pod.GetRoutes(new RouteFilter { Family = family, Table = RouteTable.Main, OutputLinkIndex = container.Index });
        foreach (var destination in request.Routes)
        {
            if (!podRoutes.Any(r => r.Destination == destination && r.Gateway is not null))
            {
                differences.Add($"pod route {destination} via {egress} is missing");
            }
        }

        differences.AddRange(_snat.Check(ipv6, ChainName(request.NetworkName, request.ContainerId, ipv6), RuleComment(request.NetworkName, request.ContainerId), address.Address, request.NodeAddress, request.Randomization));
        return differences;
    }

    private static (IPAddressAndPrefix Address, IPAddress? Gateway) Validate(EgressRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.PodNamespacePath);
        Netlink.Protocol.RtCodecs.ValidateLinkName(request.PodInterfaceName);
        var address = request.Address ?? throw new ArgumentException("The egress address (from IPAM) is required.", nameof(request));
        var family = request.IsIPv6Egress ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        if (address.Family != family)
        {
            throw new ArgumentException($"Egress address {address} must be {(request.IsIPv6Egress ? "IPv6" : "IPv4")} like the node address {request.NodeAddress}.", nameof(request));
        }

        if (!request.IsIPv6Egress && request.Gateway?.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"IPv4 egress needs an IPv4 gateway (IPAM returned {request.Gateway?.ToString() ?? "none"}).", nameof(request));
        }

        if (request.Mtu is < 68 or > 65535)
        {
            throw new ArgumentException($"MTU {request.Mtu} is outside 68..65535.", nameof(request));
        }

        return (address, request.IsIPv6Egress ? null : request.Gateway);
    }

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

    public void Dispose() => _host.Dispose();
}
