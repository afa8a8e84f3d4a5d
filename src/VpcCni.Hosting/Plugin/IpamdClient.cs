using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin;

/// <summary>What the plugin needs from the daemon; a seam so the plugin's flows can be unit tested.</summary>
internal interface IIpamdClient : IDisposable
{
    Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken);

    Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken);

    Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken);

    Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken);

    Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken);

    Task<RemoveHostVethReply> RemoveHostVethAsync(RemoveHostVethRequest request, CancellationToken cancellationToken);

    /// <summary>ADD with the wiring done by the daemon; <see cref="StatusCode.Unimplemented"/> from a daemon without it.</summary>
    Task<AddPodNetworkReply> AddPodNetworkAsync(AddPodNetworkRequest request, CancellationToken cancellationToken);

    /// <summary>DEL with the teardown done by the daemon; <see cref="StatusCode.Unimplemented"/> from a daemon without it.</summary>
    Task<DelPodNetworkReply> DelPodNetworkAsync(DelPodNetworkRequest request, CancellationToken cancellationToken);
}

/// <summary>The daemon could not be reached (no socket, refused, timed out).</summary>
internal sealed class IpamdUnreachableException(string address, Exception inner)
    : Exception($"ipamd at {address} is unreachable: {(inner is RpcException rpc ? rpc.Status.Detail : inner.Message)}", inner)
{
    public string Address { get; } = address;
}

/// <summary>
/// The real client: gRPC over the daemon's Unix socket with a deadline per call. The plugin lives for one CNI call, so
/// calls run synchronously, by default on the lean HTTP/2 invoker (no thread pool, no connection pool); the
/// Task-returning methods complete before they return. <see cref="PluginGrpcClient.GrpcNet"/> runs the same calls on
/// Grpc.Net.Client instead (docs/benchmarks.md: about 2 ms more per call).
/// </summary>
internal sealed class GrpcIpamdClient : IIpamdClient
{
    private readonly IDisposable _transport;
    private readonly CNIBackend.CNIBackendClient _backend;
    private readonly PluginBackend.PluginBackendClient _plugin;
    /// <summary>The deadline of every call but AddNetwork.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// AddNetwork's deadline: the longest wait the daemon may be configured with (VPC_CNI_ASSIGN_WAIT) plus a margin, so
    /// a waiting ADD ends with the daemon's reason, not "unreachable". The daemon caps its wait by this deadline too, and
    /// a daemon that is not there still fails at once (connect refused).
    /// </summary>
    public static readonly TimeSpan DefaultAddNetworkTimeout = Ipam.IpamOptions.MaxAssignWaitTimeout + TimeSpan.FromSeconds(10);

    private readonly string _address;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _addNetworkTimeout;
    private readonly TimeProvider _time;

    /// <summary>Grpc.Net.Client's connect timeout; the lean client's connect is a blocking connect(2) on a Unix socket.</summary>
    private static readonly TimeSpan GrpcNetConnectTimeout = TimeSpan.FromSeconds(5);

    public GrpcIpamdClient(string address, TimeSpan? timeout = null, TimeSpan? addNetworkTimeout = null, TimeProvider? time = null,
        PluginGrpcClient client = PluginGrpcClient.Http2)
    {
        _address = address;
        _timeout = timeout ?? DefaultTimeout;
        _addNetworkTimeout = addNetworkTimeout ?? DefaultAddNetworkTimeout;
        _time = time ?? TimeProvider.System;
        CallInvoker invoker;
        if (client == PluginGrpcClient.GrpcNet && GrpcNetFallback.IsAvailable) // the trimmer drops Grpc.Net.Client when the switch is off
        {
            var channel = IpamdChannel.Create(address, GrpcNetConnectTimeout);
            (_transport, invoker) = (channel, channel.CreateCallInvoker());
        }
        else
        {
            var http2 = Http2UnaryCallInvoker.ForAddress(address, _time);
            (_transport, invoker) = (http2, http2);
        }

        _backend = new CNIBackend.CNIBackendClient(invoker);
        _plugin = new PluginBackend.PluginBackendClient(invoker);
    }

    public Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => _backend.AddNetwork(request, o), _addNetworkTimeout, cancellationToken);

    public Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => _backend.DelNetwork(request, o), cancellationToken);

    public Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken) =>
        Call(o => _plugin.GetAttachment(request, o), cancellationToken);

    public Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken) =>
        Call(o => _plugin.GetStatus(new GetStatusRequest(), o), cancellationToken);

    public Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken) =>
        Call(o => _plugin.GarbageCollect(request, o), cancellationToken);

    public Task<RemoveHostVethReply> RemoveHostVethAsync(RemoveHostVethRequest request, CancellationToken cancellationToken) =>
        Call(o => _plugin.RemoveHostVeth(request, o), cancellationToken);

    public Task<AddPodNetworkReply> AddPodNetworkAsync(AddPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => _plugin.AddPodNetwork(request, o), _addNetworkTimeout, cancellationToken);

    public Task<DelPodNetworkReply> DelPodNetworkAsync(DelPodNetworkRequest request, CancellationToken cancellationToken) =>
        Call(o => _plugin.DelPodNetwork(request, o), cancellationToken);

    public void Dispose() => _transport.Dispose();

    private Task<T> Call<T>(Func<CallOptions, T> call, CancellationToken cancellationToken) => Call(call, _timeout, cancellationToken);

    private Task<T> Call<T>(Func<CallOptions, T> call, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult(call(new CallOptions(deadline: _time.GetUtcNow().UtcDateTime.Add(timeout), cancellationToken: cancellationToken)));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            throw new IpamdUnreachableException(_address, ex);
        }
    }
}
