using Grpc.Core;
using Microsoft.Extensions.Logging;
using VpcCni.Cni;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The plugin's calls to the network policy agent (aws-network-policy-agent's rpc.NPBackend on npa.sock), made when the
/// daemon's reply names a NETWORK_POLICY_ENFORCING_MODE (reference §5.2 step 7, §5.3 step 6). In strict mode the agent
/// holds the pod's traffic until this call, so an ADD it did not confirm must fail.
/// </summary>
internal sealed partial class NetworkPolicyAgent(Func<string, INetworkPolicyAgentClient> clientFactory)
{
    /// <summary>Upstream's blocking-dial timeout.</summary>
    public static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The agent over the lean HTTP/2 client.</summary>
    public static NetworkPolicyAgent Default { get; } = new(address => new GrpcNetworkPolicyAgentClient(address));

    /// <summary>ADD: EnforceNpToPod; nothing when <paramref name="mode"/> is empty.</summary>
    /// <exception cref="CniException">Unreachable agent, RPC error or Success=false: upstream's "add cmd: failed to setup network policy" (the address stays assigned; the runtime's DEL releases it).</exception>
    public void Enforce(string mode, string address, KubernetesPodArgs pod, int interfaceCount, ILogger logger, CancellationToken cancellationToken)
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
        catch (RpcException ex)
        {
            LogEnforceFailed(logger, ex, pod.PodNamespace, pod.PodName, mode, address);
            throw new CniException(CniErrorCode.Internal, failed, $"network policy agent at {address}: {ex.Status.StatusCode}: {ex.Status.Detail}", ex);
        }

        if (!reply.Success)
        {
            LogEnforceFailed(logger, null, pod.PodNamespace, pod.PodName, mode, address);
            throw new CniException(CniErrorCode.Internal, failed, $"network policy agent at {address} answered Success=false");
        }

        LogEnforced(logger, pod.PodNamespace, pod.PodName, mode);
    }

    /// <summary>DEL: DeletePodNp; nothing when <paramref name="mode"/> is empty. Only an agent that cannot be dialled fails the DEL (upstream).</summary>
    /// <exception cref="CniException">The agent could not be dialled.</exception>
    public void Delete(string mode, string address, KubernetesPodArgs pod, ILogger logger, CancellationToken cancellationToken)
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
        catch (RpcException ex)
        {
            throw new CniException(CniErrorCode.Internal, "del cmd: failed to connect to network policy agent", $"{address}: {ex.Status.StatusCode}: {ex.Status.Detail}", ex);
        }

        try
        {
            var reply = client.DeletePodNp(new DeleteNpRequest { K8SPODNAME = pod.PodName, K8SPODNAMESPACE = pod.PodNamespace }, cancellationToken);
            if (!reply.Success)
            {
                LogDeleteFailed(logger, null, pod.PodNamespace, pod.PodName, "Success=false");
            }
        }
        catch (RpcException ex)
        {
            LogDeleteFailed(logger, ex, pod.PodNamespace, pod.PodName, $"{ex.Status.StatusCode}: {ex.Status.Detail}");
        }
    }

    [LoggerMessage(EventId = 4121, Level = LogLevel.Information, Message = "network policy ({Mode}) enforced for pod {PodNamespace}/{PodName}")]
    private static partial void LogEnforced(ILogger logger, string podNamespace, string podName, string mode);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Error, Message = "network policy ({Mode}) for pod {PodNamespace}/{PodName} not set up by the agent at {Address}")]
    private static partial void LogEnforceFailed(ILogger logger, Exception? exception, string podNamespace, string podName, string mode, string address);

    [LoggerMessage(EventId = 4123, Level = LogLevel.Warning, Message = "network policy agent did not delete the policy state of pod {PodNamespace}/{PodName}: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, Exception? exception, string podNamespace, string podName, string reason);
}
