using VpcCni.Linux.Namespaces;

namespace VpcCni.Linux;

/// <summary>The container's handle on the network namespace the process runs in, opened on first use.</summary>
internal sealed class CurrentNetworkNamespace : IDisposable
{
    private readonly Lazy<NetworkNamespace> _namespace = new(() => NetworkNamespace.Open("/proc/self/ns/net"));

    public NetworkNamespace Namespace => _namespace.Value;

    public void Dispose()
    {
        if (_namespace.IsValueCreated)
        {
            _namespace.Value.Dispose();
        }
    }
}
