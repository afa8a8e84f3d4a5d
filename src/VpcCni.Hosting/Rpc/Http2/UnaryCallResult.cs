namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>What one unary call returned: status, the single response message (OK only) and the header fields as decoded.</summary>
internal sealed record UnaryCallResult(
    GrpcCallStatus Status,
    byte[]? Message,
    IReadOnlyList<(string Name, string Value)> ResponseHeaders,
    IReadOnlyList<(string Name, string Value)> Trailers)
{
    /// <summary>A call that ended without a response (transport failure, deadline, cancellation).</summary>
    public static UnaryCallResult Failed(GrpcCallStatus status) => new(status, null, [], []);
}
