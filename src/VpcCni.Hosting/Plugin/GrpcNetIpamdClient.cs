using Grpc.Core;
using Grpc.Net.Client;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;
using static VpcCni.Hosting.Plugin.GrpcNetMessageMapping;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// <see cref="IIpamdClient"/> on Grpc.Net.Client and the generated clients (VPC_CNI_PLUGIN_GRPC_CLIENT=grpcnet): the
/// fallback should the lean client ever misbehave with a daemon, about 2 ms slower per call (docs/benchmarks.md).
/// Statuses become <see cref="GrpcCallException"/> as on the lean client, so the plugin's flows see no difference.
/// </summary>
internal sealed class GrpcNetIpamdClient : IIpamdClient
{
    /// <summary>Grpc.Net.Client's connect timeout; the lean client's connect is a blocking connect(2) on a Unix socket.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly GrpcChannel _channel;
    private readonly CNIBackend.CNIBackendClient _backend;
    private readonly PluginBackend.PluginBackendClient _plugin;
    private readonly string _address;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _addNetworkTimeout;
    private readonly TimeProvider _time;

    public GrpcNetIpamdClient(string address, TimeSpan timeout, TimeSpan addNetworkTimeout, TimeProvider time)
    {
        _address = address;
        _timeout = timeout;
        _addNetworkTimeout = addNetworkTimeout;
        _time = time;
        _channel = IpamdChannel.Create(address, ConnectTimeout);
        var invoker = _channel.CreateCallInvoker();
        _backend = new CNIBackend.CNIBackendClient(invoker);
        _plugin = new PluginBackend.PluginBackendClient(invoker);
    }

    public Task<Wire.AddNetworkReply> AddNetworkAsync(Wire.AddNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_backend.AddNetwork(ToGenerated(request), o)), _addNetworkTimeout, cancellationToken);

    public Task<Wire.DelNetworkReply> DelNetworkAsync(Wire.DelNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_backend.DelNetwork(ToGenerated(request), o)), _timeout, cancellationToken);

    public Task<Wire.GetAttachmentReply> GetAttachmentAsync(Wire.GetAttachmentRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.GetAttachment(ToGenerated(request), o)), _timeout, cancellationToken);

    public Task<Wire.GetStatusReply> GetStatusAsync(CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.GetStatus(new Rpc.GetStatusRequest(), o)), _timeout, cancellationToken);

    public Task<Wire.GarbageCollectReply> GarbageCollectAsync(Wire.GarbageCollectRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.GarbageCollect(ToGenerated(request), o)), _timeout, cancellationToken);

    public Task<Wire.RemoveHostVethReply> RemoveHostVethAsync(Wire.RemoveHostVethRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.RemoveHostVeth(ToGenerated(request), o)), _timeout, cancellationToken);

    public Task<Wire.AddPodNetworkReply> AddPodNetworkAsync(Wire.AddPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.AddPodNetwork(ToGenerated(request), o)), _addNetworkTimeout, cancellationToken);

    public Task<Wire.DelPodNetworkReply> DelPodNetworkAsync(Wire.DelPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => FromGenerated(_plugin.DelPodNetwork(ToGenerated(request), o)), _timeout, cancellationToken);

    public void Dispose() => _channel.Dispose();

    private Task<T> Call<T>(Func<CallOptions, T> call, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult(call(new CallOptions(deadline: _time.GetUtcNow().UtcDateTime.Add(timeout), cancellationToken: cancellationToken)));
        }
        catch (RpcException ex)
        {
            var failure = new GrpcCallException(new GrpcCallStatus((GrpcStatusCode)ex.StatusCode, ex.Status.Detail, ex));
            throw ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded ? new IpamdUnreachableException(_address, failure) : failure;
        }
    }
}
