namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>A unary call that did not end with OK: the byte-level client's counterpart of Grpc.Core's RpcException.</summary>
internal sealed class GrpcCallException(GrpcCallStatus status)
    : Exception($"Status(StatusCode=\"{GrpcCallStatus.NameOf(status.Code)}\", Detail=\"{status.Detail}\")", status.DebugException)
{
    public GrpcCallStatus Status { get; } = status;

    public GrpcStatusCode StatusCode => Status.Code;

    public string Detail => Status.Detail;
}
