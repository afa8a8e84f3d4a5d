using System.Net;
using System.Net.Sockets;
using System.Net.NetworkInformation;
using VpcCni.Cni;
using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Rpc.Http2;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The VpcCni CNI plugin's verbs (upstream aws-cni's ADD/DEL flows, plus a CHECK that checks, STATUS and GC).
/// Addresses come from the daemon over gRPC; wiring is done in-process over netlink.
/// </summary>
internal sealed class VpcCniPlugin(
    Func<string, IIpamdClient> clientFactory,
    Func<VpcCniPluginConfig, IPodWiring> wiringFactory,
    Func<VpcCniPluginConfig, PluginLogger> loggerFactory,
    string clientVersion,
    NetworkPolicyAgent? networkPolicyAgent = null) : ICniPlugin, IDisposable
{
    private readonly NetworkPolicyAgent _networkPolicy = networkPolicyAgent ?? NetworkPolicyAgent.Default;
    private PluginLogger? _logger;
    /// <summary>The name prefix of the placeholder interface appended to ADD results (upstream's convention).</summary>
    public const string DummyInterfacePrefix = "dummy";

    public async ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var config = VpcCniPluginConfig.From(request.Config);
        var logger = Logger(config);
        var pod = PodIdentity(request);
        var env = request.Environment;
        // One datapath (netlink socket, namespace handle) serves the probe and the wiring of this ADD; it is opened
        // only if this process wires the pod itself.
        using var wiring = wiringFactory(config);
        using var client = clientFactory(config.IpamdAddress);
        var addRequest = new AddNetworkRequest
        {
            ClientVersion = clientVersion,
            K8SPODNAME = pod.PodName,
            K8SPODNAMESPACE = pod.PodNamespace,
            K8SPODINFRACONTAINERID = pod.InfraContainerId,
            Netns = env.NetNs,
            IfName = env.IfName,
            NetworkName = request.Config.Name,
            ContainerID = env.ContainerId,
        };

        var added = await AddWiredByDaemonAsync(client, wiring, addRequest, config, cancellationToken).ConfigureAwait(false)
            ?? await AddWiredHereAsync(client, wiring, addRequest, request, config, pod, logger, cancellationToken).ConfigureAwait(false);

        PluginLog.Added(logger, env.ContainerId, env.IfName, pod.PodNamespace, pod.PodName, added.Address, added.RouteTableId, added.HostVethName);
        var result = new CniResult
        {
            CniVersion = CniVersion.V1_1_0,
            Interfaces =
            [
                new CniInterface(added.HostVethName) { Mac = FormatMac(added.HostVethMac), Mtu = config.Mtu },
                new CniInterface(env.IfName) { Mac = added.ContainerMac is null ? null : FormatMac(added.ContainerMac), Sandbox = env.NetNs, Mtu = config.Mtu },

                // Marks the result as ours for DEL from prevResult; a host-side name, so no sandbox (spec-valid).
                new CniInterface(DummyInterfaceName(pod)) { Mac = "0" },
            ],
            // IPv6 clusters: the pod's /128 and no IPv4 (the egress plugin chained after adds its own).
            Ips = [new CniIPConfig(new IPAddressAndPrefix(added.Address, added.Address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32)) { Interface = 1 }],
        };

        _networkPolicy.Enforce(added.NetworkPolicyMode, config.NetworkPolicyAgentAddress, pod, interfaceCount: 1, logger, cancellationToken);

        // A chained plugin's prevResult is ours to extend, not to drop.
        return request.Config.PrevResult is { } prev ? Merge(prev, result) : result;
    }

    /// <summary>
    /// ADD as one call (AddPodNetwork): the daemon assigns and wires. Null when the daemon did nothing (it has no such
    /// call, cannot see the namespace, or does not wire pods): then this process runs the classic flow.
    /// </summary>
    private static async Task<AddedPod?> AddWiredByDaemonAsync(IIpamdClient client, IPodWiring wiring, AddNetworkRequest add, VpcCniPluginConfig config, CancellationToken cancellationToken)
    {
        if (!config.DaemonPodWiring || wiring.IdentityOf(add.Netns) is not { } identity)
        {
            return null; // the classic flow reports a missing namespace
        }

        AddPodNetworkReply wired;
        try
        {
            wired = await client.AddPodNetworkAsync(new AddPodNetworkRequest
            {
                Add = add,
                VethPrefix = config.VethPrefix,
                Mtu = config.Mtu,
                NetnsDevice = identity.Device,
                NetnsInode = identity.Inode,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcCallException ex) when (ex.StatusCode == GrpcStatusCode.Unimplemented)
        {
            return null; // an older daemon, or upstream's ipamd
        }
        catch (IpamdUnreachableException ex)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "add cmd: ipamd is unreachable", ex.Message, ex);
        }
        catch (GrpcCallException ex)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "add cmd: error received from AddNetwork gRPC call", ex.Detail, ex);
        }

        switch (wired.Outcome)
        {
            case PodWiringOutcome.PodWiringInterfaceExists:
                throw new CniException(CniErrorCode.Internal, "add cmd: interface already exists in the container", wired.Detail);
            case PodWiringOutcome.PodWiringFailed:
                throw new CniException(CniErrorCode.Internal, "add command: failed to setup network", wired.Detail);
            case PodWiringOutcome.PodWiringDone:
                var reply = wired.Reply ?? new AddNetworkReply();
                ThrowIfNotAssigned(reply);
                var allocation = reply.IPAllocationMetadata[0];
                return new AddedPod(
                    IPAddress.Parse(AddressOf(allocation)), // the daemon wired this address, so it parsed it
                    allocation.RouteTableId,
                    wired.HostVethName,
                    new PhysicalAddress(wired.HostVethMac.ToArray()),
                    wired.ContainerMac.IsEmpty ? null : new PhysicalAddress(wired.ContainerMac.ToArray())) { NetworkPolicyMode = reply.NetworkPolicyMode };
            default:
                return null;
        }
    }

    /// <summary>The classic ADD (upstream's): AddNetwork, then this process wires the pod, releasing the address on failure.</summary>
    private async Task<AddedPod> AddWiredHereAsync(IIpamdClient client, IPodWiring wiring, AddNetworkRequest add, CniRequest request, VpcCniPluginConfig config,
        KubernetesPodArgs pod, PluginLogger logger, CancellationToken cancellationToken)
    {
        var env = request.Environment;

        // An interface plugin must fail when the interface already exists (CNI ADD); the address stays with the first ADD.
        if (wiring.InterfaceExists(env.NetNs, env.IfName))
        {
            throw new CniException(CniErrorCode.Internal, "add cmd: interface already exists in the container", $"{env.IfName} in {env.NetNs}");
        }

        AddNetworkReply reply;
        try
        {
            reply = await client.AddNetworkAsync(add, cancellationToken).ConfigureAwait(false);
        }
        catch (IpamdUnreachableException ex)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "add cmd: ipamd is unreachable", ex.Message, ex);
        }
        catch (GrpcCallException ex)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "add cmd: error received from AddNetwork gRPC call", ex.Detail, ex);
        }

        ThrowIfNotAssigned(reply);
        var allocation = reply.IPAllocationMetadata[0];
        if (!IPAddress.TryParse(AddressOf(allocation), out var address))
        {
            await ReleaseAfterFailureAsync(client, request, pod, cancellationToken).ConfigureAwait(false);
            throw new CniException(CniErrorCode.Internal, "add cmd: ipamd returned an invalid address", AddressOf(allocation));
        }

        var wiringRequest = new PodNetworkRequest(env.NetNs, pod.PodNamespace, pod.PodName, env.IfName, address, allocation.RouteTableId) { Mtu = config.Mtu };
        PodNetworkSetupResult wired;
        try
        {
            wired = wiring.Setup(wiringRequest);
        }
#pragma warning disable CA1031 // Any wiring failure must release the address before it is reported.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            PluginLog.AddRollback(logger, ex, env.ContainerId, env.IfName, AddressOf(allocation));
            await ReleaseAfterFailureAsync(client, request, pod, cancellationToken).ConfigureAwait(false);
            throw new CniException(CniErrorCode.Internal, "add command: failed to setup network", ex.Message, ex);
        }

        return new AddedPod(address, allocation.RouteTableId, wired.HostVethName, wired.HostVethMac, wired.ContainerMac) { NetworkPolicyMode = reply.NetworkPolicyMode };
    }

    private static void ThrowIfNotAssigned(AddNetworkReply reply)
    {
        if (!reply.Success || reply.IPAllocationMetadata.Count == 0)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "add cmd: failed to assign an IP address to container",
                string.IsNullOrEmpty(reply.FailureReason) ? "ipamd gave no address" : reply.FailureReason);
        }
    }

    /// <summary>What an ADD produced, whoever wired it.</summary>
    private sealed record AddedPod(IPAddress Address, int RouteTableId, string HostVethName, PhysicalAddress HostVethMac, PhysicalAddress? ContainerMac)
    {
        /// <summary>The daemon's NETWORK_POLICY_ENFORCING_MODE ("" for none).</summary>
        public string NetworkPolicyMode { get; init; } = "";
    }

    public async ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var config = VpcCniPluginConfig.From(request.Config);
        var logger = Logger(config);
        var pod = PodIdentity(request);
        var env = request.Environment;
        // One datapath serves the teardown, from the daemon's reply or from prevResult; opened only if used.
        using var wiring = wiringFactory(config);
        using var client = clientFactory(config.IpamdAddress);
        if (!await DeleteByDaemonAsync(client, wiring, request, config, pod, logger, cancellationToken).ConfigureAwait(false))
        {
            await DeleteHereAsync(client, wiring, request, config, pod, logger, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DEL as one call (DelPodNetwork): the daemon releases and tears down. False when the daemon did nothing (no such
    /// call, or it cannot see the namespace): then this process runs the classic flow.
    /// </summary>
    private async Task<bool> DeleteByDaemonAsync(IIpamdClient client, IPodWiring wiring, CniRequest request, VpcCniPluginConfig config, KubernetesPodArgs pod,
        PluginLogger logger, CancellationToken cancellationToken)
    {
        if (!config.DaemonPodWiring)
        {
            return false;
        }

        var env = request.Environment;
        // A namespace this process cannot open is gone: the daemon then tears down the host side only.
        var identity = wiring.IdentityOf(env.NetNs);
        DelPodNetworkReply done;
        try
        {
            done = await client.DelPodNetworkAsync(new DelPodNetworkRequest
            {
                Del = DelRequest(request, pod, "PodDeleted"),
                VethPrefix = config.VethPrefix,
                Mtu = config.Mtu,
                Netns = env.NetNs,
                NetnsDevice = identity?.Device ?? 0,
                NetnsInode = identity?.Inode ?? 0,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcCallException ex) when (ex.StatusCode == GrpcStatusCode.Unimplemented)
        {
            return false; // an older daemon, or upstream's ipamd
        }
        catch (Exception ex) when (ex is IpamdUnreachableException or GrpcCallException)
        {
            // Upstream behaviour: the pod must be deletable while ipamd is down; the address is reclaimed later
            // by GC or by the daemon's restore, which checks that the pod is gone.
            PluginLog.DeleteWithoutDaemon(logger, ex, env.ContainerId, env.IfName);
            TeardownFromPrevResult(request, config, pod, wiring);
            return true;
        }

        switch (done.Outcome)
        {
            case PodWiringOutcome.PodWiringDone:
                var reply = done.Reply ?? new DelNetworkReply();
                if (!reply.Success)
                {
                    throw new CniException(CniErrorCode.TryAgainLater, "del cmd: failed to process delete request", "ipamd refused to release the attachment");
                }

                if (reply.IPAllocationMetadata.Count == 0)
                {
                    // Unknown to the daemon (already released, or never assigned): still remove any wiring prevResult shows.
                    TeardownFromPrevResult(request, config, pod, wiring, new DaemonVethRemover(client, cancellationToken));
                }

                PluginLog.Deleted(logger, env.ContainerId, env.IfName, reply.IPAllocationMetadata.Count);
                if (reply.IPAllocationMetadata.Count > 0)
                {
                    // As upstream: an unknown pod never reaches the agent step.
                    _networkPolicy.Delete(reply.NetworkPolicyMode, config.NetworkPolicyAgentAddress, pod, logger, cancellationToken);
                }

                return true;
            case PodWiringOutcome.PodWiringFailed:
                throw new CniException(CniErrorCode.Internal, "del cmd: failed on tear down pod network", done.Detail);
            default:
                return false;
        }
    }

    /// <summary>The classic DEL (upstream's): DelNetwork, then this process tears down the wiring.</summary>
    private async Task DeleteHereAsync(IIpamdClient client, IPodWiring wiring, CniRequest request, VpcCniPluginConfig config, KubernetesPodArgs pod,
        PluginLogger logger, CancellationToken cancellationToken)
    {
        var env = request.Environment;
        DelNetworkReply reply;
        try
        {
            reply = await client.DelNetworkAsync(DelRequest(request, pod, "PodDeleted"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IpamdUnreachableException or GrpcCallException)
        {
            // Upstream behaviour: the pod must be deletable while ipamd is down; the address is reclaimed later
            // by GC or by the daemon's restore, which checks that the pod is gone.
            PluginLog.DeleteWithoutDaemon(logger, ex, env.ContainerId, env.IfName);
            TeardownFromPrevResult(request, config, pod, wiring);
            return;
        }

        if (!reply.Success)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "del cmd: failed to process delete request", "ipamd refused to release the attachment");
        }

        if (reply.IPAllocationMetadata.Count == 0)
        {
            // Unknown to the daemon (already released, or never assigned): still remove any wiring prevResult shows.
            TeardownFromPrevResult(request, config, pod, wiring, new DaemonVethRemover(client, cancellationToken));
            return;
        }

        var remover = new DaemonVethRemover(client, cancellationToken);
        foreach (var released in reply.IPAllocationMetadata)
        {
            if (IPAddress.TryParse(AddressOf(released), out var address) && pod.PodName.Length > 0)
            {
                wiring.Teardown(new PodNetworkRequest(env.NetNs, pod.PodNamespace, pod.PodName, env.IfName, address, released.RouteTableId) { Mtu = config.Mtu }, remover);
            }
        }

        PluginLog.Deleted(logger, env.ContainerId, env.IfName, reply.IPAllocationMetadata.Count);
        _networkPolicy.Delete(reply.NetworkPolicyMode, config.NetworkPolicyAgentAddress, pod, logger, cancellationToken);
    }

    public async ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var config = VpcCniPluginConfig.From(request.Config);
        var logger = Logger(config);
        var pod = PodIdentity(request);
        var env = request.Environment;
        var prev = request.Config.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "check: prevResult is required", "CHECK compares the live state with the ADD result");
        var expected = prev.Ips.FirstOrDefault(ip => ip.Interface is { } i && i < prev.Interfaces.Count && prev.Interfaces[i].Name == env.IfName && prev.Interfaces[i].Sandbox is not null)
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "check: prevResult has no address on " + env.IfName);

        using var client = clientFactory(config.IpamdAddress);
        GetAttachmentReply record;
        try
        {
            record = await client.GetAttachmentAsync(new GetAttachmentRequest { NetworkName = request.Config.Name, ContainerID = env.ContainerId, IfName = env.IfName }, cancellationToken).ConfigureAwait(false);
        }
        catch (IpamdUnreachableException ex)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "check: ipamd is unreachable", ex.Message, ex);
        }

        if (!record.Found)
        {
            throw new CniException(CniErrorCode.Internal, "check: ipamd has no record of this attachment", $"{request.Config.Name}/{env.ContainerId}/{env.IfName}");
        }

        if (record.IPv4Addr != expected.Address.Address.ToString())
        {
            throw new CniException(CniErrorCode.Internal, "check: address mismatch", $"prevResult has {expected.Address.Address}, ipamd has {record.IPv4Addr}");
        }

        using var wiring = wiringFactory(config);
        var differences = wiring.Check(new PodNetworkRequest(env.NetNs, pod.PodNamespace, pod.PodName, env.IfName, expected.Address.Address, record.RouteTableId) { Mtu = config.Mtu });
        if (differences.Count > 0)
        {
            throw new CniException(CniErrorCode.Internal, "check: pod wiring differs from what ADD set up", string.Join("; ", differences));
        }
    }

    public async ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var config = VpcCniPluginConfig.From(request.Config);
        var logger = Logger(config);
        using var client = clientFactory(config.IpamdAddress);
        GetStatusReply status;
        try
        {
            status = await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IpamdUnreachableException or GrpcCallException)
        {
            throw new CniException(CniErrorCode.PluginNotAvailable, "ipamd is unreachable", ex.Message, ex);
        }

        if (!status.Ready)
        {
            var code = status.LimitedConnectivity ? CniErrorCode.PluginNotAvailableLimitedConnectivity : CniErrorCode.PluginNotAvailable;
            throw new CniException(code, "not ready to add pods", $"{status.Reason} (available {status.AvailableIPs}, assigned {status.AssignedIPs}, can grow: {status.CanGrow})");
        }
    }

    public async ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var config = VpcCniPluginConfig.From(request.Config);
        var logger = Logger(config);
        using var client = clientFactory(config.IpamdAddress);
        var gc = new GarbageCollectRequest
        {
            NetworkName = request.Config.Name,
            ValidAttachments = [.. (request.Config.ValidAttachments ?? []).Select(a => new Attachment { ContainerID = a.ContainerId, IfName = a.IfName })],
        };

        GarbageCollectReply reply;
        try
        {
            reply = await client.GarbageCollectAsync(gc, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IpamdUnreachableException or GrpcCallException)
        {
            throw new CniException(CniErrorCode.TryAgainLater, "gc: ipamd is unreachable", ex.Message, ex);
        }

        var errors = new List<string>(reply.Errors);
        using (var wiring = wiringFactory(config))
        {
            foreach (var released in reply.Released)
            {
                if (!IPAddress.TryParse(released.IPv4Addr, out var address) || released.PodName.Length == 0)
                {
                    continue;
                }

                try
                {
                    // The stale pod's namespace is gone (GC's premise); remove the host side only.
                    wiring.Teardown(new PodNetworkRequest("", released.PodNamespace, released.PodName, released.IfName, address, released.RouteTableId) { Mtu = config.Mtu });
                }
#pragma warning disable CA1031 // GC continues past one failure and reports them all at the end.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    errors.Add($"{released.ContainerID}/{released.IfName}: {ex.Message}");
                }
            }
        }

        PluginLog.GarbageCollected(logger, request.Config.Name, reply.Released.Count);
        if (errors.Count > 0)
        {
            throw new CniException(CniErrorCode.Internal, "gc: some stale attachments could not be released", string.Join("; ", errors));
        }
    }

    public void Dispose() => _logger?.Dispose();

    /// <summary>
    /// The pod from CNI_ARGS; a runtime that is not Kubernetes sends none, and then the container id names it
    /// (under the pseudo-namespace "cni") so the host veth name is still stable between ADD and DEL.
    /// </summary>
    internal static KubernetesPodArgs PodIdentity(CniRequest request)
    {
        var pod = KubernetesPodArgs.From(request.Environment.Args);
        return pod.PodName.Length > 0
            ? pod with { PodNamespace = pod.PodNamespace.Length > 0 ? pod.PodNamespace : "default" }
            : pod with { PodNamespace = "cni", PodName = request.Environment.ContainerId };
    }

    private PluginLogger Logger(VpcCniPluginConfig config) => _logger ??= loggerFactory(config);

    /// <summary>"dummy" + the host veth's hash, as upstream names it.</summary>
    internal static string DummyInterfaceName(KubernetesPodArgs pod) =>
        PodNetworkDatapath.HostVethName(DummyInterfacePrefix, pod.PodNamespace, pod.PodName);

    private static string FormatMac(System.Net.NetworkInformation.PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private static CniResult Merge(CniResult prev, CniResult ours)
    {
        var offset = prev.Interfaces.Count;
        return ours with
        {
            Interfaces = [.. prev.Interfaces, .. ours.Interfaces],
            Ips = [.. prev.Ips, .. ours.Ips.Select(ip => ip with { Interface = ip.Interface + offset })],
            Routes = [.. prev.Routes, .. ours.Routes],
            Dns = prev.Dns ?? ours.Dns,
        };
    }

    /// <summary>The DelNetwork of this attachment; the reason is upstream's label (PodDeleted, SetupNSFailed).</summary>
    private DelNetworkRequest DelRequest(CniRequest request, KubernetesPodArgs pod, string reason) => new()
    {
        ClientVersion = clientVersion,
        K8SPODNAME = pod.PodName,
        K8SPODNAMESPACE = pod.PodNamespace,
        K8SPODINFRACONTAINERID = pod.InfraContainerId,
        K8SPODUID = pod.PodUid ?? "",
        Reason = reason,
        IfName = request.Environment.IfName,
        NetworkName = request.Config.Name,
        ContainerID = request.Environment.ContainerId,
    };

    private async Task ReleaseAfterFailureAsync(IIpamdClient client, CniRequest request, KubernetesPodArgs pod, CancellationToken cancellationToken)
    {
        try
        {
            await client.DelNetworkAsync(DelRequest(request, pod, "SetupNSFailed"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IpamdUnreachableException or GrpcCallException)
        {
            // The runtime calls DEL after a failed ADD, which releases it then.
            PluginLog.RollbackReleaseFailed(_logger!, ex, request.Environment.ContainerId, request.Environment.IfName);
        }
    }

    private void TeardownFromPrevResult(CniRequest request, VpcCniPluginConfig config, KubernetesPodArgs pod, IPodWiring wiring, IHostVethRemover? remover = null)
    {
        var prev = request.Config.PrevResult;
        if (prev is null || pod.PodName.Length == 0)
        {
            return;
        }

        var ours = prev.Interfaces.Any(i => i.Name.StartsWith(DummyInterfacePrefix, StringComparison.Ordinal) && i.Sandbox is null);
        if (!ours)
        {
            return;
        }

        foreach (var ip in prev.Ips)
        {
            if (ip.Interface is not { } index || index >= prev.Interfaces.Count || prev.Interfaces[index].Name != request.Environment.IfName)
            {
                continue;
            }

            try
            {
                // Table 0: the from-pod rule is removed whatever table it points at.
                wiring.Teardown(new PodNetworkRequest(request.Environment.NetNs, pod.PodNamespace, pod.PodName, request.Environment.IfName, ip.Address.Address, 0) { Mtu = config.Mtu }, remover);
            }
#pragma warning disable CA1031 // Best effort: DEL without the daemon must still succeed.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                PluginLog.TeardownFailed(_logger!, ex, ip.Address.Address.ToString(), pod.PodNamespace, pod.PodName);
            }
        }
    }

    /// <summary>The allocation's address: IPv4, or IPv6 in an IPv6 cluster.</summary>
    private static string AddressOf(IPAllocationMetadata allocation) =>
        allocation.IPv4Addr.Length > 0 ? allocation.IPv4Addr : allocation.IPv6Addr;
}
