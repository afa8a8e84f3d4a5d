using System.Runtime.Versioning;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Plugin;

/// <summary>What the plugin needs from the datapath; a seam so the plugin's flows can be unit tested.</summary>
internal interface IPodWiring : IDisposable
{
    PodNetworkSetupResult Setup(PodNetworkRequest request);

    void Teardown(PodNetworkRequest request);

    IReadOnlyList<string> Check(PodNetworkRequest request);

    /// <summary>True when the container already has an interface of that name (a repeated ADD must fail).</summary>
    bool InterfaceExists(string namespacePath, string interfaceName);
}

/// <summary>The real wiring: netlink in the plugin's own (the node's) namespace and the pod's.</summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxPodWiring(string vethPrefix) : IPodWiring
{
    private readonly PodNetworkDatapath _datapath = new(NetworkNamespace.Open("/proc/self/ns/net"), new PodNetworkOptions { VethPrefix = vethPrefix });

    public PodNetworkSetupResult Setup(PodNetworkRequest request) => _datapath.Setup(request);

    public void Teardown(PodNetworkRequest request) => _datapath.Teardown(request);

    public IReadOnlyList<string> Check(PodNetworkRequest request) => _datapath.Check(request);

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
        using (var client = VpcCni.Linux.Netlink.RtNetlinkClient.Open(ns))
        {
            return client.FindLinkByName(interfaceName) is not null;
        }
    }

    public void Dispose() => _datapath.Dispose();
}
