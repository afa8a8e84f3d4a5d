// The sample's README shows the region below verbatim (a test in tests/VpcCni.EndToEnd.Tests keeps them equal).
#region quick-start
using System.Net;
using VpcCni.Cni;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

// One invocation: the runner reads CNI_* and stdin, validates them, calls the verb and writes the result (in the
// request's cniVersion) or the spec's error object to stdout. VERSION is answered by the runner itself.
return await CniPluginRunner.RunProcessAsync(new MinimalPtpPlugin(), new CniPluginRunnerOptions { Diagnostics = Console.Error });

/// <summary>ptp-like: a veth pair into the pod, the static address from the config, routed via 169.254.1.1.</summary>
internal sealed class MinimalPtpPlugin : ICniPlugin
{
    private static readonly IPAddress Gateway = new([169, 254, 1, 1]);

    public ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var (config, pod) = Read(request);
        using var host = NetworkNamespace.OpenCurrentThread();
        using var datapath = new PodNetworkDatapath(host, new PodNetworkOptions { VethPrefix = config.VethPrefix });
        var wired = datapath.Setup(pod); // rolls back everything it made if a step fails
        return ValueTask.FromResult(new CniResult
        {
            CniVersion = request.Config.CniVersion,
            Interfaces =
            [
                new CniInterface(wired.HostVethName) { Mac = Mac(wired.HostVethMac.GetAddressBytes()) },
                new CniInterface(pod.InterfaceName) { Mac = Mac(wired.ContainerMac?.GetAddressBytes()), Sandbox = pod.PodNamespacePath },
            ],
            Ips = [new CniIPConfig(new IPAddressAndPrefix(pod.Address, 32)) { Gateway = Gateway, Interface = 1 }],
            Routes = [new CniRoute(new IPAddressAndPrefix(IPAddress.Any, 0)) { Gateway = Gateway }],
        });
    }

    public ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var (config, pod) = Read(request);
        using var host = NetworkNamespace.OpenCurrentThread();
        using var datapath = new PodNetworkDatapath(host, new PodNetworkOptions { VethPrefix = config.VethPrefix });
        datapath.Teardown(pod); // idempotent: a second DEL, or one after the namespace is gone, succeeds
        return ValueTask.CompletedTask;
    }

    public ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var (config, pod) = Read(request);
        using var host = NetworkNamespace.OpenCurrentThread();
        using var datapath = new PodNetworkDatapath(host, new PodNetworkOptions { VethPrefix = config.VethPrefix });
        var differences = datapath.Check(pod);
        return differences.Count == 0
            ? ValueTask.CompletedTask
            : throw new CniException(CniErrorCode.Internal, "check: the attachment is not what ADD made", string.Join("; ", differences));
    }

    // A static address needs no pool: always ready, and nothing is held outside the attachments themselves.
    public ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static (SampleConfig Config, PodNetworkRequest Pod) Read(CniRequest request)
    {
        var config = request.Config.GetPluginConfig(SampleJsonContext.Default.SampleConfig);
        if (!IPAddress.TryParse(config.Address, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid address", $"\"address\" must be an IPv4 address, found \"{config.Address}\"");
        }

        // The host veth's name hashes namespace.name (upstream's rule); outside Kubernetes the container id stands in.
        var env = request.Environment;
        var pod = new PodNetworkRequest(
            env.NetNs, env.Args.Get("K8S_POD_NAMESPACE") ?? "cni", env.Args.Get("K8S_POD_NAME") ?? env.ContainerId, env.IfName, address, RouteTable: 254)
        {
            Mtu = config.Mtu,
        };
        return (config, pod);
    }

    private static string? Mac(byte[]? bytes) => bytes is null ? null : string.Join(':', bytes.Select(b => b.ToString("x2")));
}
#endregion
