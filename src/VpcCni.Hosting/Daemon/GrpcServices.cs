using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Daemon;

/// <summary>Upstream's rpc.CNIBackend over the node's address manager.</summary>
public sealed class CniBackendService(IpamdNode node) : CNIBackend.CNIBackendBase
{
    /// <summary>
    /// Time kept back from the caller's deadline (grpc-timeout) for the reply to reach it: a waiting ADD answers with
    /// its named cause instead of the client giving up with "deadline exceeded".
    /// </summary>
    public static readonly TimeSpan DeadlineMargin = TimeSpan.FromSeconds(1);

    public override Task<AddNetworkReply> AddNetwork(AddNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.AddNetworkAsync(request, WaitWithin(context.Deadline, DateTime.UtcNow), context.CancellationToken);
    }

    /// <summary>How long an ADD may wait for the pool given the call's deadline (the server's clock); null for none.</summary>
    internal static TimeSpan? WaitWithin(DateTime deadline, DateTime utcNow)
    {
        if (deadline == DateTime.MaxValue)
        {
            return null;
        }

        var left = (deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline) - utcNow;
        // A short deadline keeps a proportional share back rather than the whole margin.
        var margin = left < DeadlineMargin * 4 ? left / 4 : DeadlineMargin;
        var wait = left - margin;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    public override Task<DelNetworkReply> DelNetwork(DelNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.DelNetworkAsync(request, context.CancellationToken);
    }
}

/// <summary>VpcCni's CHECK/STATUS/GC support, host veth removal for DEL, and ADD/DEL with the wiring done here.</summary>
public sealed class PluginBackendService(IpamdNode node, HostVethReaper? reaper = null, DaemonPodWiring? wiring = null) : PluginBackend.PluginBackendBase
{
    public override Task<AddPodNetworkReply> AddPodNetwork(AddPodNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (WiringRefusal(context) is { } refusal)
        {
            return Task.FromResult(new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = refusal });
        }

        return wiring!.AddAsync(request, CniBackendService.WaitWithin(context.Deadline, DateTime.UtcNow), context.CancellationToken);
    }

    public override Task<DelPodNetworkReply> DelPodNetwork(DelPodNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (WiringRefusal(context) is { } refusal)
        {
            return Task.FromResult(new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = refusal });
        }

        return wiring!.DeleteAsync(request, context.CancellationToken);
    }

    private string? WiringRefusal(ServerCallContext context) =>
        wiring is null ? "this daemon does not wire pods (VPC_CNI_DAEMON_POD_WIRING=false)"
        // Changing the node's links is for the plugin on the Unix socket (root only, mode 0660), not any local process
        // that can reach the optional TCP listener.
        : context.Peer.StartsWith("ipv", StringComparison.Ordinal) ? "pods are wired only over the Unix socket"
        : null;

    public override async Task<RemoveHostVethReply> RemoveHostVeth(RemoveHostVethRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (reaper is null)
        {
            return new RemoveHostVethReply { Removed = false, Reason = "this daemon does not remove host veths" };
        }

        // Deleting host links is for the plugin on the Unix socket (root only, mode 0660), not any local process that
        // can reach the optional TCP listener.
        if (context.Peer.StartsWith("ipv", StringComparison.Ordinal))
        {
            return new RemoveHostVethReply { Removed = false, Reason = "host veths are removed only over the Unix socket" };
        }

        var result = await reaper.RemoveAsync(request.IfIndex, request.Name, new NetworkNamespaceIdentity(request.NamespaceDevice, request.NamespaceInode), context.CancellationToken).ConfigureAwait(false);
        node.Metrics.HostVethRemovals.Add(1, new KeyValuePair<string, object?>("outcome", result.Outcome switch
        {
            HostVethReapOutcome.Removed => "removed",
            HostVethReapOutcome.AlreadyGone => "already_gone",
            _ => "refused",
        }));
        return new RemoveHostVethReply { Removed = result.Outcome != HostVethReapOutcome.Refused, Reason = result.Reason ?? "" };
    }

    public override Task<GetAttachmentReply> GetAttachment(GetAttachmentRequest request, ServerCallContext context) =>
        Task.FromResult(node.GetAttachment(request));

    public override Task<GetStatusReply> GetStatus(GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(node.GetStatus());

    public override Task<GarbageCollectReply> GarbageCollect(GarbageCollectRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.GarbageCollectAsync(request, context.CancellationToken);
    }
}

/// <summary>Upstream's rpc.ConfigServerBackend: the network policy agent asks ipamd for the node's settings.</summary>
public sealed class ConfigServerBackendService(IpamdNode node) : ConfigServerBackend.ConfigServerBackendBase
{
    public override Task<NetworkPolicyAgentConfigReply> GetNetworkPolicyConfigs(Google.Protobuf.WellKnownTypes.Empty request, ServerCallContext context) =>
        Task.FromResult(node.GetNetworkPolicyConfigs());
}
