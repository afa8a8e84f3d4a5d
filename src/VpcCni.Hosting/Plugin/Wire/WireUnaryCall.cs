using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>One unary call with the plugin's codec on the byte-level HTTP/2 client.</summary>
internal static class WireUnaryCall
{
    /// <exception cref="GrpcCallException">Any status but OK, or a response that is not the expected message (INTERNAL).</exception>
    public static TResponse Invoke<TRequest, TResponse>(Http2UnaryClient client, string path, TRequest request, DateTimeOffset deadline, CancellationToken cancellationToken)
        where TRequest : class, IWireMessage<TRequest>
        where TResponse : class, IWireMessage<TResponse>
    {
        var result = client.Call(path, WireMessage.ToBytes(request), deadline, cancellationToken);
        if (result.Status.Code != GrpcStatusCode.OK)
        {
            throw new GrpcCallException(result.Status);
        }

        try
        {
            return WireMessage.Parse<TResponse>(result.Message);
        }
        catch (ProtoWireException ex)
        {
            throw new GrpcCallException(new GrpcCallStatus(GrpcStatusCode.Internal, $"the response of {path} could not be parsed: {ex.Message}", ex));
        }
    }
}
