using Grpc.Core;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Daemon;

/// <summary>Upstream's rpc.CNIBackend over the node's address manager.</summary>
public sealed class CniBackendService(IpamdNode node) : CNIBackend.CNIBackendBase
{
    public override Task<AddNetworkReply> AddNetwork(AddNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.AddNetworkAsync(request, context.CancellationToken);
    }

    public override Task<DelNetworkReply> DelNetwork(DelNetworkRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.DelNetworkAsync(request, context.CancellationToken);
    }
}

/// <summary>VpcCni's CHECK/STATUS/GC support.</summary>
public sealed class PluginBackendService(IpamdNode node) : PluginBackend.PluginBackendBase
{
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
