using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin;

/// <summary>One connection to the network policy agent; a seam for tests.</summary>
internal interface INetworkPolicyAgentClient : IDisposable
{
    /// <summary>Connects now (upstream's blocking dial).</summary>
    /// <exception cref="RpcException">Nothing listens, or the connect took longer than <paramref name="timeout"/>.</exception>
    void Dial(TimeSpan timeout);

    EnforceNpReply EnforceNpToPod(EnforceNpRequest request, CancellationToken cancellationToken);

    DeleteNpReply DeletePodNp(DeleteNpRequest request, CancellationToken cancellationToken);
}

/// <summary>rpc.NPBackend over the lean HTTP/2 client (no Grpc.Net.Client: the plugin stays small under Native AOT).</summary>
internal sealed class GrpcNetworkPolicyAgentClient : INetworkPolicyAgentClient
{
    /// <summary>
    /// Each call's deadline. Upstream's calls have none; a hung agent must not hold the runtime's ADD forever (the
    /// runtime's own CNI timeout would then kill the plugin with no message).
    /// </summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly Http2UnaryCallInvoker _invoker;
    private readonly NPBackend.NPBackendClient _client;
    private readonly TimeProvider _time;

    public GrpcNetworkPolicyAgentClient(string address, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _invoker = Http2UnaryCallInvoker.ForAddress(address, _time);
        _client = new NPBackend.NPBackendClient(_invoker);
    }

    public void Dial(TimeSpan timeout) => _invoker.Connect(timeout);

    public EnforceNpReply EnforceNpToPod(EnforceNpRequest request, CancellationToken cancellationToken) =>
        _client.EnforceNpToPod(request, Options(cancellationToken));

    public DeleteNpReply DeletePodNp(DeleteNpRequest request, CancellationToken cancellationToken) =>
        _client.DeletePodNp(request, Options(cancellationToken));

    public void Dispose() => _invoker.Dispose();

    private CallOptions Options(CancellationToken cancellationToken) =>
        new(deadline: _time.GetUtcNow().UtcDateTime.Add(CallTimeout), cancellationToken: cancellationToken);
}
