using System.Runtime.Versioning;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Plugin;

/// <summary>What the plugin needs from the datapath; a seam so the plugin's flows can be unit tested.</summary>
internal interface IPodWiring : IDisposable
{
    PodNetworkSetupResult Setup(PodNetworkRequest request);

    /// <summary>Removes the pod's wiring; the host veth's deletion is offered to <paramref name="remover"/> first.</summary>
    void Teardown(PodNetworkRequest request, IHostVethRemover? remover = null);

    IReadOnlyList<string> Check(PodNetworkRequest request);

    /// <summary>True when the container already has an interface of that name (a repeated ADD must fail).</summary>
    bool InterfaceExists(string namespacePath, string interfaceName);

    /// <summary>The namespace at <paramref name="namespacePath"/> as this process sees it; null when it cannot be opened.</summary>
    NetworkNamespaceIdentity? IdentityOf(string namespacePath);
}

/// <summary>The real wiring: netlink in the plugin's own (the node's) namespace and the pod's.</summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxPodWiring(string vethPrefix) : IPodWiring
{
    // Opened on first use: an ADD or DEL the daemon wires never needs the plugin's own netlink socket. The pod's
    // namespace is entered on the plugin's own thread: a worker thread per call costs more than the whole switch.
    private PodNetworkDatapath? _datapath;

    private PodNetworkDatapath Datapath => _datapath ??= new(
        NetworkNamespace.Open("/proc/self/ns/net"), new PodNetworkOptions { VethPrefix = vethPrefix }, NetworkNamespaceExecutor.CallingThread);

    public PodNetworkSetupResult Setup(PodNetworkRequest request) => Datapath.Setup(request);

    public void Teardown(PodNetworkRequest request, IHostVethRemover? remover = null) => Datapath.Teardown(request, remover);

    public IReadOnlyList<string> Check(PodNetworkRequest request) => Datapath.Check(request);

    public NetworkNamespaceIdentity? IdentityOf(string namespacePath)
    {
        if (string.IsNullOrEmpty(namespacePath))
        {
            return null;
        }

        try
        {
            using var ns = NetworkNamespace.Open(namespacePath);
            return ns.Identity;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public bool InterfaceExists(string namespacePath, string interfaceName)
    {
        NetworkNamespace ns;
        try
        {
            ns = NetworkNamespace.Open(namespacePath);
        }
        catch (NetworkNamespaceNotFoundException)
        {
            return false;
        }

        using (ns)
        using (var client = VpcCni.Linux.Netlink.RtNetlinkClient.Open(ns, NetworkNamespaceExecutor.CallingThread))
        {
            return client.FindLinkByName(interfaceName) is not null;
        }
    }

    public void Dispose() => _datapath?.Dispose();
}

/// <summary>
/// Hands the host veth's deletion to the daemon, which replies once the link has left the namespace and waits out the
/// kernel's unregistration itself; a daemon that cannot (an older one, or an error) leaves the deletion to the plugin.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class DaemonVethRemover(IIpamdClient client, CancellationToken cancellationToken) : IHostVethRemover
{
    public bool TryRemove(int index, string name, NetworkNamespaceIdentity hostNamespace)
    {
        try
        {
            var request = new Wire.RemoveHostVethRequest { IfIndex = index, Name = name, NamespaceDevice = hostNamespace.Device, NamespaceInode = hostNamespace.Inode };
            return client.RemoveHostVethAsync(request, cancellationToken).GetAwaiter().GetResult().Removed;
        }
        catch (Exception ex) when (ex is Rpc.Http2.GrpcCallException or IpamdUnreachableException)
        {
            return false;
        }
    }
}
