using System.Net;
using System.Net.Sockets;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;

namespace VpcCni.Linux.Pods;

/// <summary>
/// What a pod leaves in the host namespace, as the daemon's restore sees it (upstream §3.5): its host veth, found by
/// the 11-hex SHA-1 suffix under any prefix (so a change of AWS_VPC_K8S_CNI_VETHPREFIX does not make live pods look
/// gone), and its host rules <c>to &lt;ip&gt; lookup main</c> (512) and <c>from &lt;ip&gt; lookup &lt;table&gt;</c> (1536).
/// </summary>
public sealed class PodHostState : IDisposable
{
    /// <summary>Priority of the per-pod <c>to &lt;ip&gt; lookup main</c> rule.</summary>
    public const int ToPodRulePriority = 512;

    /// <summary>Priority of the per-pod <c>from &lt;ip&gt; lookup &lt;ENI table&gt;</c> rule.</summary>
    public const int FromPodRulePriority = 1536;

    private const int HashLength = 11;
    private readonly RtNetlinkClient _client;

    public PodHostState(NetworkNamespace hostNamespace, NetworkNamespaceExecutor? executor = null)
    {
        ArgumentNullException.ThrowIfNull(hostNamespace);
        _client = RtNetlinkClient.Open(hostNamespace, executor);
    }

    /// <summary>True when <paramref name="linkName"/> ends with the pod's 11 hex characters, whatever its prefix.</summary>
    public static bool IsHostVethOf(string linkName, string kubernetesNamespace, string podName)
    {
        ArgumentNullException.ThrowIfNull(linkName);
        var hash = PodNetworkDatapath.HostVethName("", kubernetesNamespace, podName);
        return linkName.Length >= HashLength && linkName.EndsWith(hash, StringComparison.Ordinal);
    }

    /// <summary>True when some link of the host namespace is the pod's host veth (any prefix).</summary>
    public bool HasHostVeth(string kubernetesNamespace, string podName)
    {
        var hash = PodNetworkDatapath.HostVethName("", kubernetesNamespace, podName);
        return _client.GetLinks().Any(l => l.Name.EndsWith(hash, StringComparison.Ordinal));
    }

    /// <summary>
    /// Deletes the pod's 512 rule and every 1536 rule whose source is the pod's address (any table), as upstream does
    /// for a restored allocation it drops. Rules already gone are ignored. Returns how many rules were deleted.
    /// </summary>
    public int RemovePodRules(IPAddress podAddress)
    {
        ArgumentNullException.ThrowIfNull(podAddress);
        var host = new IPNetwork(podAddress, podAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
        var deleted = 0;
        foreach (var rule in _client.GetRules(podAddress.AddressFamily))
        {
            var ours = (rule.Priority == ToPodRulePriority && host.Equals(rule.Destination) && rule.Source is null && rule.Table == RouteTable.Main) ||
                (rule.Priority == FromPodRulePriority && host.Equals(rule.Source));
            if (!ours)
            {
                continue;
            }

            try
            {
                _client.DeleteRule(rule);
                deleted++;
            }
            catch (NetlinkException ex) when (ex.IsNotFound)
            {
            }
        }

        return deleted;
    }

    public void Dispose() => _client.Dispose();
}
