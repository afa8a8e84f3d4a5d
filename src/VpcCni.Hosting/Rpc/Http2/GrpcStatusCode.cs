namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// gRPC's status codes (the numbers of grpc-status), with Grpc.Core's names. Ours, so the plugin's byte-level calls
/// never link Grpc.Core.Api; <see cref="Http2UnaryCallInvoker"/> converts them for generated clients.
/// </summary>
internal enum GrpcStatusCode
{
    OK = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}
