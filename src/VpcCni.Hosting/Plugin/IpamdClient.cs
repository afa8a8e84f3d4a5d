using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// What the plugin needs from the daemon; a seam so the plugin's flows can be unit tested. A call the daemon answers
/// with an error status throws <see cref="GrpcCallException"/>; one that reaches no daemon, <see cref="IpamdUnreachableException"/>.
/// </summary>
internal interface IIpamdClient : IDisposable
{
    Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken);

    Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken);

    Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken);

    Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken);

    Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken);

    Task<RemoveHostVethReply> RemoveHostVethAsync(RemoveHostVethRequest request, CancellationToken cancellationToken);

    /// <summary>ADD with the wiring done by the daemon; <see cref="GrpcStatusCode.Unimplemented"/> from a daemon without it.</summary>
    Task<AddPodNetworkReply> AddPodNetworkAsync(AddPodNetworkRequest request, CancellationToken cancellationToken);

    /// <summary>DEL with the teardown done by the daemon; <see cref="GrpcStatusCode.Unimplemented"/> from a daemon without it.</summary>
    Task<DelPodNetworkReply> DelPodNetworkAsync(DelPodNetworkRequest request, CancellationToken cancellationToken);
}

/// <summary>The daemon could not be reached (no socket, refused, timed out).</summary>
internal sealed class IpamdUnreachableException(string address, Exception inner)
    : Exception($"ipamd at {address} is unreachable: {(inner is GrpcCallException call ? call.Detail : inner.Message)}", inner)
{
    public string Address { get; } = address;
}

/// <summary>
/// The real client: gRPC over the daemon's Unix socket with a deadline per call. The plugin lives for one CNI call, so
/// calls run synchronously on the lean byte-level HTTP/2 client with the plugin's own protobuf codec (no thread pool,
/// no connection pool, no Google.Protobuf or Grpc.Core); the Task-returning methods complete before they return.
/// <see cref="Create"/> gives <see cref="GrpcNetIpamdClient"/> instead for <see cref="PluginGrpcClient.GrpcNet"/>.
/// </summary>
internal sealed class GrpcIpamdClient : IIpamdClient
{
    /// <summary>The deadline of every call but AddNetwork.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// AddNetwork's deadline: the longest wait the daemon may be configured with (VPC_CNI_ASSIGN_WAIT) plus a margin, so
    /// a waiting ADD ends with the daemon's reason, not "unreachable". The daemon caps its wait by this deadline too, and
    /// a daemon that is not there still fails at once (connect refused).
    /// </summary>
    public static readonly TimeSpan DefaultAddNetworkTimeout = Ipam.IpamOptions.MaxAssignWaitTimeout + TimeSpan.FromSeconds(10);

    private readonly Http2UnaryClient _client;
    private readonly string _address;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _addNetworkTimeout;
    private readonly TimeProvider _time;

    public GrpcIpamdClient(string address, TimeSpan? timeout = null, TimeSpan? addNetworkTimeout = null, TimeProvider? time = null)
    {
        _address = address;
        _timeout = timeout ?? DefaultTimeout;
        _addNetworkTimeout = addNetworkTimeout ?? DefaultAddNetworkTimeout;
        _time = time ?? TimeProvider.System;
        _client = Http2UnaryClient.ForAddress(address, _time);
    }

    /// <summary>The client <paramref name="client"/> names; Grpc.Net.Client only in a build that carries it.</summary>
    public static IIpamdClient Create(string address, PluginGrpcClient client = PluginGrpcClient.Http2, TimeSpan? timeout = null, TimeSpan? addNetworkTimeout = null,
        TimeProvider? time = null) =>
        client == PluginGrpcClient.GrpcNet && GrpcNetFallback.IsAvailable // the trimmer drops the fallback when the switch is off
            ? new GrpcNetIpamdClient(address, timeout ?? DefaultTimeout, addNetworkTimeout ?? DefaultAddNetworkTimeout, time ?? TimeProvider.System)
            : new GrpcIpamdClient(address, timeout, addNetworkTimeout, time);

    public Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken) =>
        Call<AddNetworkRequest, AddNetworkReply>(WireMethod.AddNetwork, request, _addNetworkTimeout, cancellationToken);

    public Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken) =>
        Call<DelNetworkRequest, DelNetworkReply>(WireMethod.DelNetwork, request, _timeout, cancellationToken);

    public Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken) =>
        Call<GetAttachmentRequest, GetAttachmentReply>(WireMethod.GetAttachment, request, _timeout, cancellationToken);

    public Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken) =>
        Call<GetStatusRequest, GetStatusReply>(WireMethod.GetStatus, new GetStatusRequest(), _timeout, cancellationToken);

    public Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken) =>
        Call<GarbageCollectRequest, GarbageCollectReply>(WireMethod.GarbageCollect, request, _timeout, cancellationToken);

    public Task<RemoveHostVethReply> RemoveHostVethAsync(RemoveHostVethRequest request, CancellationToken cancellationToken) =>
        Call<RemoveHostVethRequest, RemoveHostVethReply>(WireMethod.RemoveHostVeth, request, _timeout, cancellationToken);

    public Task<AddPodNetworkReply> AddPodNetworkAsync(AddPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call<AddPodNetworkRequest, AddPodNetworkReply>(WireMethod.AddPodNetwork, request, _addNetworkTimeout, cancellationToken);

    public Task<DelPodNetworkReply> DelPodNetworkAsync(DelPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call<DelPodNetworkRequest, DelPodNetworkReply>(WireMethod.DelPodNetwork, request, _timeout, cancellationToken);

    public void Dispose() => _client.Dispose();

    private Task<TResponse> Call<TRequest, TResponse>(string path, TRequest request, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IWireMessage<TRequest>
        where TResponse : class, IWireMessage<TResponse>
    {
        try
        {
            return Task.FromResult(WireUnaryCall.Invoke<TRequest, TResponse>(_client, path, request, _time.GetUtcNow() + timeout, cancellationToken));
        }
        catch (GrpcCallException ex) when (ex.StatusCode is GrpcStatusCode.Unavailable or GrpcStatusCode.DeadlineExceeded)
        {
            throw new IpamdUnreachableException(_address, ex);
        }
    }
}
