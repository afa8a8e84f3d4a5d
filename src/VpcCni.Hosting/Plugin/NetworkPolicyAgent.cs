using VpcCni.Cni;
using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The plugin's calls to the network policy agent (aws-network-policy-agent's rpc.NPBackend on npa.sock), made when the
/// daemon's reply names a NETWORK_POLICY_ENFORCING_MODE (reference §5.2 step 7, §5.3 step 6). In strict mode the agent
/// holds the pod's traffic until this call, so an ADD it did not confirm must fail.
/// </summary>
internal sealed class NetworkPolicyAgent(Func<string, INetworkPolicyAgentClient> clientFactory)
{
    /// <summary>Upstream's blocking-dial timeout.</summary>
    public static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The agent over the lean HTTP/2 client.</summary>
    public static NetworkPolicyAgent Default { get; } = new(address => new GrpcNetworkPolicyAgentClient(address));

    /// <summary>ADD: EnforceNpToPod; nothing when <paramref name="mode"/> is empty.</summary>
    /// <exception cref="CniException">Unreachable agent, RPC error or Success=false: upstream's "add cmd: failed to setup network policy" (the address stays assigned; the runtime's DEL releases it).</exception>
    public void Enforce(string mode, string address, KubernetesPodArgs pod, int interfaceCount, PluginLogger logger, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(mode))
        {
            return;
        }

        const string failed = "add cmd: failed to setup network policy";
        using var client = clientFactory(address);
        EnforceNpReply reply;
        try
        {
            client.Dial(DialTimeout);
            reply = client.EnforceNpToPod(new EnforceNpRequest
            {
                K8SPODNAME = pod.PodName,
                K8SPODNAMESPACE = pod.PodNamespace,
                NETWORKPOLICYMODE = mode,
                InterfaceCount = interfaceCount,
            }, cancellationToken);
        }
        catch (GrpcCallException ex)
        {
            PluginLog.NetworkPolicyEnforceFailed(logger, ex, pod.PodNamespace, pod.PodName, mode, address);
            throw new CniException(CniErrorCode.Internal, failed, $"network policy agent at {address}: {GrpcCallStatus.NameOf(ex.StatusCode)}: {ex.Detail}", ex);
        }

        if (!reply.Success)
        {
            PluginLog.NetworkPolicyEnforceFailed(logger, null, pod.PodNamespace, pod.PodName, mode, address);
            throw new CniException(CniErrorCode.Internal, failed, $"network policy agent at {address} answered Success=false");
        }

        PluginLog.NetworkPolicyEnforced(logger, pod.PodNamespace, pod.PodName, mode);
    }

    /// <summary>DEL: DeletePodNp; nothing when <paramref name="mode"/> is empty. Only an agent that cannot be dialled fails the DEL (upstream).</summary>
    /// <exception cref="CniException">The agent could not be dialled.</exception>
    public void Delete(string mode, string address, KubernetesPodArgs pod, PluginLogger logger, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(mode))
        {
            return;
        }

        using var client = clientFactory(address);
        try
        {
            client.Dial(DialTimeout);
        }
        catch (GrpcCallException ex)
        {
            throw new CniException(CniErrorCode.Internal, "del cmd: failed to connect to network policy agent", $"{address}: {GrpcCallStatus.NameOf(ex.StatusCode)}: {ex.Detail}", ex);
        }

        try
        {
            var reply = client.DeletePodNp(new DeleteNpRequest { K8SPODNAME = pod.PodName, K8SPODNAMESPACE = pod.PodNamespace }, cancellationToken);
            if (!reply.Success)
            {
                PluginLog.NetworkPolicyDeleteFailed(logger, null, pod.PodNamespace, pod.PodName, "Success=false");
            }
        }
        catch (GrpcCallException ex)
        {
            PluginLog.NetworkPolicyDeleteFailed(logger, ex, pod.PodNamespace, pod.PodName, $"{GrpcCallStatus.NameOf(ex.StatusCode)}: {ex.Detail}");
        }
    }
}
