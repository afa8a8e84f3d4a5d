using System.Net;
using System.Net.NetworkInformation;
using VpcCni.Cni;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Egress;

/// <summary>
/// The egress-cni plugin (upstream §4.6), chained after the pod's main plugin: ADD delegates to the IPAM plugin for one
/// address, wires <see cref="EgressDatapath"/> and returns the previous result with the two veth ends appended; DEL
/// releases the address and removes the chain and veth; CHECK forwards to IPAM and verifies the datapath. A
/// configuration whose "enabled" is not "true" passes the previous result through and does nothing else.
/// </summary>
public sealed class EgressCniPlugin : ICniPlugin
{
    private readonly NetfilterTools _tools;
    private readonly TextWriter? _diagnostics;

    public EgressCniPlugin(NetfilterTools? tools = null, TextWriter? diagnostics = null)
    {
        _tools = tools ?? new NetfilterTools();
        _diagnostics = diagnostics;
    }

    public async ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = EgressPluginConfig.Parse(request.Config);
        var previous = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "must be called as a chained plugin", "the configuration has no prevResult");
        if (!config.Enabled)
        {
            return previous;
        }

        var node = config.RequireNodeAddress();
        var mtu = config.RequireMtu();
        var ipamType = RequireIpamType(config);
        var env = request.Environment;
        var ipam = await CniDelegatedPlugin.AddAsync(ipamType, env, request.Config.RawBytes, request.Config.CniVersion, cancellationToken).ConfigureAwait(false);
        try
        {
            if (ipam.Ips.Count != 1)
            {
                throw new CniException(
                    CniErrorCode.Internal,
                    ipam.Ips.Count == 0 ? "IPAM plugin returned zero IPs" : $"IPAM plugin is expected to return 1 IP address, but returned {ipam.Ips.Count} IPs");
            }

            var ip = ipam.Ips[0];
            using var host = NetworkNamespace.OpenCurrentThread();
            using var datapath = new EgressDatapath(host, _tools);
            var wired = await datapath.SetupAsync(
                new EgressRequest(env.NetNs, env.IfName, config.Name, env.ContainerId, node)
                {
                    Address = ip.Address,
                    Gateway = ip.Gateway,
                    Routes = [.. ipam.Routes.Select(r => r.Destination.Network)],
                    Mtu = mtu,
                    Randomization = config.Randomization,
                },
                cancellationToken).ConfigureAwait(false);

            // The egress interfaces are appended; the pod's IPs stay the main plugin's (upstream adds none).
            return previous with
            {
                Interfaces =
                [
                    .. previous.Interfaces,
                    new CniInterface(wired.HostInterfaceName) { Mac = Mac(wired.HostMac) },
                    new CniInterface(wired.ContainerInterfaceName) { Mac = Mac(wired.ContainerMac), Sandbox = env.NetNs },
                ],
            };
        }
        catch (Exception ex)
        {
            // ADD-7 / IPAM-5: the address goes back before the error is reported (the datapath already rolled back).
            try
            {
                await CniDelegatedPlugin.DeleteAsync(ipamType, env, request.Config.RawBytes, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CniException releaseError)
            {
                _diagnostics?.WriteLine($"egress-cni: IPAM DEL after a failed ADD failed too: {releaseError.Message} {releaseError.Details}");
            }

            if (ex is CniException or OperationCanceledException)
            {
                throw;
            }

            throw new CniException(CniErrorCode.Internal, ex.Message, ex.InnerException?.Message, ex);
        }
    }

    public async ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = EgressPluginConfig.Parse(request.Config);
        if (!config.Enabled)
        {
            return;
        }

        var ipamType = RequireIpamType(config);
        var env = request.Environment;
        CniException? failure = null;
        try
        {
            await CniDelegatedPlugin.DeleteAsync(ipamType, env, request.Config.RawBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (CniException ex)
        {
            // DEL is best effort: the datapath is still cleaned, then the IPAM error is reported.
            failure = ex;
        }

        // Without a usable nodeIP the flavour is unknown: both are removed (each is a no-op when absent).
        var node = config.TryGetNodeAddress();
        IPAddress[] flavours = node is null ? [IPAddress.Any, IPAddress.IPv6Any] : [node];
        using (var host = NetworkNamespace.OpenCurrentThread())
        using (var datapath = new EgressDatapath(host, _tools))
        {
            foreach (var flavour in flavours)
            {
                datapath.Teardown(new EgressRequest(env.NetNs, env.IfName, config.Name, env.ContainerId, flavour));
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    public async ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = EgressPluginConfig.Parse(request.Config);
        _ = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "must be called as a chained plugin", "the configuration has no prevResult");
        if (!config.Enabled)
        {
            return;
        }

        var node = config.RequireNodeAddress();
        _ = config.RequireMtu();
        var env = request.Environment;
        await CniDelegatedPlugin.CheckAsync(RequireIpamType(config), env, request.Config.RawBytes, cancellationToken).ConfigureAwait(false);
        using var host = NetworkNamespace.OpenCurrentThread();
        using var datapath = new EgressDatapath(host, _tools);
        IReadOnlyList<string> differences;
        try
        {
            differences = datapath.Check(new EgressRequest(env.NetNs, env.IfName, config.Name, env.ContainerId, node)
            {
                Routes = config.IpamRoutes,
                Randomization = config.Randomization,
            });
        }
        catch (NetworkNamespaceNotFoundException ex)
        {
            throw new CniException(CniErrorCode.Internal, "check: the pod's network namespace is gone", ex.Message, ex);
        }

        if (differences.Count > 0)
        {
            throw new CniException(CniErrorCode.Internal, "check: the egress attachment is not what ADD made", string.Join("; ", differences));
        }
    }

    // Upstream has neither verb; host-local (Debian 1.1.1) does not know them either, so nothing is forwarded.
    public ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static string RequireIpamType(EgressPluginConfig config) =>
        string.IsNullOrEmpty(config.IpamType)
            ? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing ipam type", "egress-cni needs \"ipam\": {\"type\": \"host-local\", ...}")
            : config.IpamType;

    private static string? Mac(PhysicalAddress? address) =>
        address is null ? null : string.Join(':', address.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
