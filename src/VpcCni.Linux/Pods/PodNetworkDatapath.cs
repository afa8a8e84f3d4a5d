using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Sysctl;

namespace VpcCni.Linux.Pods;

/// <summary>
/// Wires pods the way upstream's routed-ENI plugin does (upstream §4.2): a veth whose host end is named
/// prefix + 11 hex of SHA-1("namespace.name"), the pod address as /32 behind the 169.254.1.1 gateway
/// trick, and host routes/rules. Setup rolls back on failure; teardown is idempotent.
/// </summary>
public sealed class PodNetworkDatapath : IDisposable
{
    private readonly NetworkNamespace _hostNamespace;
    private readonly RtNetlinkClient _host;
    private readonly NetworkNamespaceExecutor _executor;
    private readonly NamespaceSysctl _sysctl;
    private readonly PodNetworkOptions _options;
    private readonly ILogger _logger;

    public PodNetworkDatapath(NetworkNamespace hostNamespace, PodNetworkOptions? options = null, NetworkNamespaceExecutor? executor = null, ILogger<PodNetworkDatapath>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(hostNamespace);
        _options = options ?? new PodNetworkOptions();
        if (string.IsNullOrEmpty(_options.VethPrefix) || _options.VethPrefix.Length > 4)
        {
            throw new ArgumentException($"AWS_VPC_K8S_CNI_VETHPREFIX '{_options.VethPrefix}' must be 1-4 characters.", nameof(options));
        }

        _hostNamespace = hostNamespace;
        _executor = executor ?? NetworkNamespaceExecutor.Shared;
        _sysctl = new NamespaceSysctl(_executor);
        _host = RtNetlinkClient.Open(hostNamespace, _executor);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Called before each step; a test can throw here to inject a failure.</summary>
    public Action<PodSetupStep>? BeforeStep { get; set; }

    /// <summary>prefix + first 11 hex characters of SHA-1("namespace.name[.index]") (upstream names.go).</summary>
    public static string HostVethName(string prefix, string kubernetesNamespace, string podName, int interfaceIndex = 0)
    {
        var key = interfaceIndex > 0 ? $"{kubernetesNamespace}.{podName}.{interfaceIndex}" : $"{kubernetesNamespace}.{podName}";
        // Not security: the name must match upstream's SHA-1 naming that Calico and checkpoints rely on.
        Span<byte> hash = stackalloc byte[Sha1.HashSize];
        Sha1.HashData(Encoding.UTF8.GetBytes(key), hash);
        return prefix + Convert.ToHexStringLower(hash)[..11];
    }

    private static bool IsMain(int table) => table is 0 or 1 or RouteTable.Main;

    private static (IPAddress Gateway, int HostPrefix) GatewayFor(PodNetworkRequest request) =>
        request.Address.AddressFamily == AddressFamily.InterNetworkV6
            ? (IPAddress.Parse($"fe80::{request.InterfaceIndex + 1:x}"), 128)
            : (new IPAddress([169, 254, 1, (byte)(request.InterfaceIndex + 1)]), 32);

    private static int ContainerTable(PodNetworkRequest request) => request.InterfaceIndex == 0 ? RouteTable.Main : request.InterfaceIndex;

    private static void Validate(PodNetworkRequest request, bool requireNamespace = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (requireNamespace)
        {
            ArgumentException.ThrowIfNullOrEmpty(request.PodNamespacePath);
        }

        ArgumentException.ThrowIfNullOrEmpty(request.KubernetesNamespace);
        ArgumentException.ThrowIfNullOrEmpty(request.PodName);
        Netlink.Protocol.RtCodecs.ValidateLinkName(request.InterfaceName);
        if (request.Mtu is < 576 or > 65535)
        {
            throw new ArgumentException($"Pod MTU {request.Mtu} is outside 576..65535 (POD_MTU).", nameof(request));
        }

        if (request.InterfaceIndex is < 0 or > 254)
        {
            throw new ArgumentException($"Interface index {request.InterfaceIndex} is outside 0..254.", nameof(request));
        }

        if (request.Address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"Pod address {request.Address} is not IPv4 or IPv6.", nameof(request));
        }
    }

    /// <summary>Wires the pod. On failure everything created so far is removed and the error names the step.</summary>
    public PodNetworkSetupResult Setup(PodNetworkRequest request)
    {
        Validate(request);
        var hostVeth = HostVethName(_options.VethPrefix, request.KubernetesNamespace, request.PodName, request.InterfaceIndex);
        var (gateway, hostPrefix) = GatewayFor(request);
        var family = request.Address.AddressFamily;
        var isV6 = family == AddressFamily.InterNetworkV6;
        var podHost = new IPNetwork(request.Address, hostPrefix);
        var undo = new Stack<(string Name, Action Action)>();
        var step = PodSetupStep.RemoveStaleHostVeth;

        using var podNamespace = NetworkNamespace.Open(request.PodNamespacePath);
        using var pod = RtNetlinkClient.Open(podNamespace, _executor);
        try
        {
            Step(step);
            _host.DeleteLink(hostVeth);

            Step(step = PodSetupStep.CreateVeth);
            // The kernel gives each veth end a random locally administered MAC (46 random bits), as upstream relies
            // on; choosing one here would need a dump of every link on the node per ADD.
            _host.CreateLink(new VethCreateRequest(hostVeth, request.InterfaceName)
            {
                Mtu = request.Mtu,
                PeerNamespace = podNamespace,
                PeerMtu = request.Mtu,
            });
            undo.Push(($"delete veth {hostVeth}", () => _host.DeleteLink(hostVeth)));
            var hostLink = _host.FindLinkByName(hostVeth) ?? throw new InvalidOperationException($"Host veth {hostVeth} vanished after creation.");
            var hostMac = hostLink.HardwareAddress ?? throw new InvalidOperationException($"Host veth {hostVeth} has no MAC address.");

            Step(step = PodSetupStep.ConfigureHostVeth);
            // IPv6 knobs are set before the link comes up so no RA/redirect state is learnt (missing files ignored).
            _sysctl.Write(_hostNamespace, $"net/ipv6/conf/{hostVeth}/accept_ra", "0", ignoreMissing: true);
            _sysctl.Write(_hostNamespace, $"net/ipv6/conf/{hostVeth}/accept_redirects", "1", ignoreMissing: true);
            _sysctl.Write(_hostNamespace, $"net/ipv6/conf/{hostVeth}/forwarding", "0", ignoreMissing: true);
            _host.SetLinkUp(hostLink.Index);

            Step(step = PodSetupStep.ConfigureContainerLink);
            var container = pod.FindLinkByName(request.InterfaceName) ?? throw new InvalidOperationException($"Container link {request.InterfaceName} not found in {request.PodNamespacePath}.");
            if (isV6)
            {
                _sysctl.Write(podNamespace, $"net/ipv6/conf/{request.InterfaceName}/disable_ipv6", "0", ignoreMissing: true);
                _sysctl.Write(podNamespace, "net/ipv6/conf/lo/disable_ipv6", "0", ignoreMissing: true);
            }

            pod.SetLinkUp(container.Index);

            Step(step = PodSetupStep.AddContainerRoutes);
            var table = ContainerTable(request);
            pod.ReplaceRoute(new Route(new IPNetwork(gateway, hostPrefix)) { OutputLinkIndex = container.Index, Scope = RouteScope.Link, Table = table });
            if (request.InterfaceIndex > 0)
            {
                var inPodRule = new RoutingRule(family) { Priority = 1, Source = podHost, Table = table };
                AddRuleIfMissing(pod, inPodRule, undo, "pod");
            }

            var defaultDestination = isV6 ? new IPNetwork(IPAddress.IPv6Any, 0) : new IPNetwork(IPAddress.Any, 0);
            pod.ReplaceRoute(new Route(defaultDestination) { Gateway = gateway, OutputLinkIndex = container.Index, Table = table });

            Step(step = PodSetupStep.AddContainerAddress);
            // NODAD: the address is unique by construction, and skipping DAD removes upstream's 10 s tentative wait.
            pod.AddAddress(new InterfaceAddress(container.Index, request.Address, hostPrefix) { Flags = isV6 ? 0x02u : 0u });

            Step(step = PodSetupStep.AddGatewayNeighbor);
            pod.ReplaceNeighbor(new Neighbor(container.Index, gateway) { LinkLayerAddress = hostMac, State = NeighborState.Permanent });

            Step(step = PodSetupStep.AddHostRoute);
            var hostRoute = new Route(podHost) { OutputLinkIndex = hostLink.Index, Scope = RouteScope.Link, Table = RouteTable.Main };
            _host.ReplaceRoute(hostRoute);
            undo.Push(($"delete host route {podHost}", () => IgnoreNotFound(() => _host.DeleteRoute(hostRoute))));

            Step(step = PodSetupStep.AddToPodRule);
            AddRuleIfMissing(_host, new RoutingRule(family) { Priority = 512, Destination = podHost, Table = RouteTable.Main }, undo, "host");

            Step(step = PodSetupStep.AddFromPodRule);
            if (!IsMain(request.RouteTable))
            {
                AddRuleIfMissing(_host, new RoutingRule(family) { Priority = 1536, Source = podHost, Table = request.RouteTable }, undo, "host");
            }

            _logger.PodWired(request.KubernetesNamespace, request.PodName, request.Address, hostVeth, request.RouteTable);
            return new PodNetworkSetupResult(hostVeth, hostMac, hostLink.Index, container.HardwareAddress, container.Index);
        }
        catch (Exception ex)
        {
            _logger.PodSetupRollingBack(ex, request.KubernetesNamespace, request.PodName, step.ToString(), undo.Count);
            while (undo.TryPop(out var action))
            {
                try
                {
                    action.Action();
                }
                catch (Exception rollbackError) when (rollbackError is NetlinkException or IOException)
                {
                    _logger.RollbackStepFailed(rollbackError, action.Name);
                }
            }

            throw new PodNetworkSetupException(step, ex.Message, ex);
        }
    }

    private void Step(PodSetupStep step) => BeforeStep?.Invoke(step);

    private static void AddRuleIfMissing(RtNetlinkClient client, RoutingRule rule, Stack<(string, Action)> undo, string where)
    {
        try
        {
            client.AddRule(rule);
            undo.Push(($"delete {where} rule {rule}", () => IgnoreNotFound(() => client.DeleteRule(rule))));
        }
        catch (NetlinkException ex) when (ex.IsAlreadyExists)
        {
            // Already there (a previous ADD for the same address): upstream ignores it too.
        }
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

    /// <summary>
    /// Removes what setup created. Idempotent: a second call, a missing pod namespace or a missing veth are not errors.
    /// </summary>
    public void Teardown(PodNetworkRequest request) => Teardown(request, remover: null);

    /// <summary>
    /// As <see cref="Teardown(PodNetworkRequest)"/>, with the host veth's deletion offered to <paramref name="remover"/>
    /// first (the daemon, which can wait out the kernel's unregistration so this caller need not).
    /// </summary>
    public void Teardown(PodNetworkRequest request, IHostVethRemover? remover)
    {
        Validate(request, requireNamespace: false); // DEL may come after the namespace is gone (CNI_NETNS empty).
        var hostVeth = HostVethName(_options.VethPrefix, request.KubernetesNamespace, request.PodName, request.InterfaceIndex);
        var (_, hostPrefix) = GatewayFor(request);
        var family = request.Address.AddressFamily;
        var podHost = new IPNetwork(request.Address, hostPrefix);
        // Delete exactly the rules Setup adds instead of dumping every rule on the node (two per pod): the kernel
        // matches a delete on the attributes given. The host route needs no step: it is bound to the veth and goes
        // with it.
        IgnoreNotFound(() => _host.DeleteRule(new RoutingRule(family) { Priority = 512, Destination = podHost, Table = RouteTable.Main }));
        if (request.RouteTable == 0)
        {
            // Table unknown (teardown from prevResult): a delete without a table matches the rule in any table.
            while (TryDeleteRule(new RoutingRule(family) { Priority = 1536, Source = podHost, Table = 0 }))
            {
            }
        }
        else if (!IsMain(request.RouteTable))
        {
            IgnoreNotFound(() => _host.DeleteRule(new RoutingRule(family) { Priority = 1536, Source = podHost, Table = request.RouteTable }));
        }

        var podNamespace = TryOpenPodNamespace(request.PodNamespacePath);
        if (podNamespace is null)
        {
            // No pod namespace, no veth to remove: the kernel destroys a veth pair with its namespace, so a host
            // link of this name now belongs to a newer sandbox of the same pod (the name derives from the pod).
            _logger.PodTornDown(request.KubernetesNamespace, request.PodName, request.Address, hostVeth);
            return;
        }

        using (podNamespace)
        {
            if (request.InterfaceIndex > 0)
            {
                using var pod = RtNetlinkClient.Open(podNamespace, _executor);
                foreach (var rule in pod.GetRules(family).Where(r => r.Priority == 1 && podHost.Equals(r.Source)))
                {
                    IgnoreNotFound(() => pod.DeleteRule(rule));
                }
            }

            // Only a veth whose peer lives in this sandbox's namespace: a DEL of an old sandbox must not take down the
            // veth a newer sandbox of the same pod (same host name) wired since. Checked from the host side (the
            // peer's namespace id), so no socket inside the pod is needed.
            var hostLink = _host.FindLinkByName(hostVeth);
            if (hostLink?.LinkNetNsId is { } peerNamespace && _host.GetNamespaceId(podNamespace) == peerNamespace
                && !TryRemoveElsewhere(remover, hostLink))
            {
                IgnoreNotFound(() => _host.DeleteLink(hostLink.Index));
            }
        }

        _logger.PodTornDown(request.KubernetesNamespace, request.PodName, request.Address, hostVeth);
    }

    private bool TryRemoveElsewhere(IHostVethRemover? remover, NetworkLink hostLink)
    {
        if (remover is null)
        {
            return false;
        }

        try
        {
            return remover.TryRemove(hostLink.Index, hostLink.Name, _hostNamespace.Identity);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The remover is an optimisation: any failure of it means deleting here, as without one.
            _logger.HostVethRemoverFailed(ex, hostLink.Name);
            return false;
        }
    }

    private bool TryDeleteRule(RoutingRule rule)
    {
        try
        {
            _host.DeleteRule(rule);
            return true;
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            return false;
        }
    }

    private static NetworkNamespace? TryOpenPodNamespace(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        try
        {
            return NetworkNamespace.Open(path);
        }
        catch (NetworkNamespaceNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Compares the live state with what <see cref="Setup"/> creates; returns one line per difference (empty = consistent).</summary>
    public IReadOnlyList<string> Check(PodNetworkRequest request)
    {
        Validate(request);
        var differences = new List<string>();
        var hostVeth = HostVethName(_options.VethPrefix, request.KubernetesNamespace, request.PodName, request.InterfaceIndex);
        var (gateway, hostPrefix) = GatewayFor(request);
        var family = request.Address.AddressFamily;
        var podHost = new IPNetwork(request.Address, hostPrefix);

        var hostLink = _host.FindLinkByName(hostVeth);
        if (hostLink is null)
        {
            differences.Add($"host veth {hostVeth} is missing");
        }
        else
        {
            if (!hostLink.IsUp)
            {
                differences.Add($"host veth {hostVeth} is down");
            }

            if (hostLink.Mtu != request.Mtu)
            {
                differences.Add($"host veth {hostVeth} MTU is {hostLink.Mtu}, expected {request.Mtu}");
            }

            var hostRoutes = _host.GetRoutes(new RouteFilter { Family = family, Table = RouteTable.Main, Destination = podHost });
            // IPv6 routes carry no scope in the kernel, so scope is only compared for IPv4.
            if (!hostRoutes.Any(r => r.OutputLinkIndex == hostLink.Index && (r.Scope == RouteScope.Link || family == AddressFamily.InterNetworkV6)))
            {
                differences.Add($"host route {podHost} dev {hostVeth} scope link is missing from main");
            }
        }

        var rules = _host.GetRules(family);
        if (!rules.Any(r => r.Priority == 512 && podHost.Equals(r.Destination) && r.Source is null && r.Table == RouteTable.Main))
        {
            differences.Add($"rule 512: to {podHost} lookup main is missing");
        }

        if (!IsMain(request.RouteTable) && !rules.Any(r => r.Priority == 1536 && podHost.Equals(r.Source) && r.Table == request.RouteTable))
        {
            differences.Add($"rule 1536: from {podHost} lookup {request.RouteTable} is missing");
        }

        NetworkNamespace podNamespace;
        try
        {
            podNamespace = NetworkNamespace.Open(request.PodNamespacePath);
        }
        catch (NetworkNamespaceNotFoundException)
        {
            differences.Add($"pod namespace {request.PodNamespacePath} is missing");
            return differences;
        }

        using (podNamespace)
        using (var pod = RtNetlinkClient.Open(podNamespace, _executor))
        {
            var container = pod.FindLinkByName(request.InterfaceName);
            if (container is null)
            {
                differences.Add($"pod interface {request.InterfaceName} is missing");
                return differences;
            }

            if (!container.IsUp)
            {
                differences.Add($"pod interface {request.InterfaceName} is down");
            }

            if (container.Mtu != request.Mtu)
            {
                differences.Add($"pod interface {request.InterfaceName} MTU is {container.Mtu}, expected {request.Mtu}");
            }

            var addresses = pod.GetAddresses(family, container.Index);
            if (!addresses.Any(a => a.Address.Equals(request.Address) && a.PrefixLength == hostPrefix))
            {
                differences.Add($"pod address {request.Address}/{hostPrefix} is missing on {request.InterfaceName}");
            }

            var table = ContainerTable(request);
            var routes = pod.GetRoutes(new RouteFilter { Family = family, Table = table, OutputLinkIndex = container.Index });
            if (!routes.Any(r => r.Destination.Equals(new IPNetwork(gateway, hostPrefix)) && (r.Scope == RouteScope.Link || family == AddressFamily.InterNetworkV6)))
            {
                differences.Add($"pod route {gateway}/{hostPrefix} scope link is missing");
            }

            if (!routes.Any(r => r.Destination.PrefixLength == 0 && gateway.Equals(r.Gateway)))
            {
                differences.Add($"pod default route via {gateway} is missing");
            }

            var neighbor = pod.GetNeighbors(family, container.Index).FirstOrDefault(n => n.Address.Equals(gateway));
            if (neighbor is null || (neighbor.State & NeighborState.Permanent) == 0)
            {
                differences.Add($"permanent neighbour {gateway} is missing on {request.InterfaceName}");
            }
            else if (hostLink is not null && !Equals(neighbor.LinkLayerAddress, hostLink.HardwareAddress))
            {
                differences.Add($"neighbour {gateway} points at {neighbor.LinkLayerAddress}, expected host veth MAC {hostLink.HardwareAddress}");
            }
        }

        return differences;
    }

    public void Dispose() => _host.Dispose();
}
