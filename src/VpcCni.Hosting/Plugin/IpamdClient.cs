using Grpc.Core;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Plugin;

/// <summary>What the plugin needs from the daemon; a seam so the plugin's flows can be unit tested.</summary>
internal interface IIpamdClient : IDisposable
{
    Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken);

    Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken);

    Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken);

    Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken);

    Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken);
}

/// <summary>The daemon could not be reached (no socket, refused, timed out).</summary>
internal sealed class IpamdUnreachableException(string address, Exception inner)
    : Exception($"ipamd at {address} is unreachable: {(inner is RpcException rpc ? rpc.Status.Detail : inner.Message)}", inner)
{
    public string Address { get; } = address;
}

/// <summary>The real client: gRPC over the daemon's Unix socket with a deadline per call.</summary>
internal sealed class GrpcIpamdClient : IIpamdClient
{
    private readonly Grpc.Net.Client.GrpcChannel _channel;
    private readonly CNIBackend.CNIBackendClient _backend;
    private readonly PluginBackend.PluginBackendClient _plugin;
    private readonly string _address;
    private readonly TimeSpan _timeout;

    public GrpcIpamdClient(string address, TimeSpan timeout)
    {
        _address = address;
        _timeout = timeout;
        _channel = IpamdChannel.Create(address, connectTimeout: TimeSpan.FromSeconds(2));
        _backend = new CNIBackend.CNIBackendClient(_channel);
        _plugin = new PluginBackend.PluginBackendClient(_channel);
    }

    public Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken) =>
        CallAsync(o => _backend.AddNetworkAsync(request, o).ResponseAsync, cancellationToken);

    public Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken) =>
        CallAsync(o => _backend.DelNetworkAsync(request, o).ResponseAsync, cancellationToken);

    public Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken) =>
        CallAsync(o => _plugin.GetAttachmentAsync(request, o).ResponseAsync, cancellationToken);

    public Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken) =>
        CallAsync(o => _plugin.GetStatusAsync(new GetStatusRequest(), o).ResponseAsync, cancellationToken);

    public Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken) =>
        CallAsync(o => _plugin.GarbageCollectAsync(request, o).ResponseAsync, cancellationToken);

    public void Dispose() => _channel.Dispose();

    private async Task<T> CallAsync<T>(Func<CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(new CallOptions(deadline: DateTime.UtcNow.Add(_timeout), cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            throw new IpamdUnreachableException(_address, ex);
        }
    }
}
