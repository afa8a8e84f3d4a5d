using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin;

/// <summary>One connection to the network policy agent; a seam for tests.</summary>
internal interface INetworkPolicyAgentClient : IDisposable
{
    /// <summary>Connects now (upstream's blocking dial).</summary>
    /// <exception cref="GrpcCallException">Nothing listens, or the connect took longer than <paramref name="timeout"/>.</exception>
    void Dial(TimeSpan timeout);

    /// <exception cref="GrpcCallException">Any status but OK.</exception>
    EnforceNpReply EnforceNpToPod(EnforceNpRequest request, CancellationToken cancellationToken);

    /// <exception cref="GrpcCallException">Any status but OK.</exception>
    DeleteNpReply DeletePodNp(DeleteNpRequest request, CancellationToken cancellationToken);
}

/// <summary>rpc.NPBackend over the lean byte-level HTTP/2 client and the plugin's codec (the plugin stays small under Native AOT).</summary>
internal sealed class GrpcNetworkPolicyAgentClient : INetworkPolicyAgentClient
{
    /// <summary>
    /// Each call's deadline. Upstream's calls have none; a hung agent must not hold the runtime's ADD forever (the
    /// runtime's own CNI timeout would then kill the plugin with no message).
    /// </summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly Http2UnaryClient _client;
    private readonly TimeProvider _time;

    public GrpcNetworkPolicyAgentClient(string address, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _client = Http2UnaryClient.ForAddress(address, _time);
    }

    public void Dial(TimeSpan timeout) => _client.Connect(timeout);

    public EnforceNpReply EnforceNpToPod(EnforceNpRequest request, CancellationToken cancellationToken) =>
        WireUnaryCall.Invoke<EnforceNpRequest, EnforceNpReply>(_client, WireMethod.EnforceNpToPod, request, Deadline, cancellationToken);

    public DeleteNpReply DeletePodNp(DeleteNpRequest request, CancellationToken cancellationToken) =>
        WireUnaryCall.Invoke<DeleteNpRequest, DeleteNpReply>(_client, WireMethod.DeletePodNp, request, Deadline, cancellationToken);

    public void Dispose() => _client.Dispose();

    private DateTimeOffset Deadline => _time.GetUtcNow() + CallTimeout;
}
