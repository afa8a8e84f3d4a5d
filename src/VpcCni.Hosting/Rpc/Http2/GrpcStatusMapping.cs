using System.Net.Sockets;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// How a unary call's outcome becomes a gRPC status, as gRPC's HTTP/2 protocol and its
/// http-grpc-status-mapping document say: grpc-status and grpc-message when the server sent them, the HTTP status when
/// the call never reached a gRPC handler, the RST_STREAM error code when the server reset the stream, and the
/// transport's failure otherwise.
/// </summary>
internal static class GrpcStatusMapping
{
    /// <summary>
    /// grpc-status (a decimal code) and grpc-message (percent-encoded UTF-8); a missing or out-of-range code is
    /// INTERNAL, as the call's outcome is then unknown.
    /// </summary>
    public static GrpcCallStatus FromGrpcStatus(string? grpcStatus, string? grpcMessage)
    {
        if (grpcStatus is null || !int.TryParse(grpcStatus, out var code) || code is < 0 or > 16)
        {
            return new GrpcCallStatus(GrpcStatusCode.Internal, "the response has no valid grpc-status");
        }

        return new GrpcCallStatus((GrpcStatusCode)code, grpcMessage is null ? "" : Uri.UnescapeDataString(grpcMessage));
    }

    /// <summary>The status of a response without grpc-status whose HTTP status is not 200.</summary>
    public static GrpcCallStatus FromHttpStatus(string? httpStatus) => new(httpStatus switch
    {
        "400" => GrpcStatusCode.Internal,
        "401" => GrpcStatusCode.Unauthenticated,
        "403" => GrpcStatusCode.PermissionDenied,
        "404" => GrpcStatusCode.Unimplemented,
        "429" or "502" or "503" or "504" => GrpcStatusCode.Unavailable,
        _ => GrpcStatusCode.Unknown,
    }, $"HTTP status {httpStatus ?? "missing"} from the server");

    /// <summary>The status of a stream the server reset (gRPC's HTTP/2 protocol, "Errors").</summary>
    public static GrpcCallStatus FromRstStream(Http2ErrorCode code) => code switch
    {
        // REFUSED_STREAM means the server did no work: safe to call again.
        Http2ErrorCode.RefusedStream => new GrpcCallStatus(GrpcStatusCode.Unavailable, "the server refused the stream (REFUSED_STREAM)"),
        Http2ErrorCode.Cancel => new GrpcCallStatus(GrpcStatusCode.Cancelled, "the server cancelled the stream (CANCEL)"),
        Http2ErrorCode.EnhanceYourCalm => new GrpcCallStatus(GrpcStatusCode.ResourceExhausted, "the server reset the stream: too many requests (ENHANCE_YOUR_CALM)"),
        Http2ErrorCode.InadequateSecurity => new GrpcCallStatus(GrpcStatusCode.PermissionDenied, "the server reset the stream (INADEQUATE_SECURITY)"),
        _ => new GrpcCallStatus(GrpcStatusCode.Internal, $"the server reset the stream with HTTP/2 error {(uint)code} ({Http2ProtocolException.NameOf(code)})"),
    };

    /// <summary>True for the failures <see cref="FromTransportFailure"/> maps: the connection is spent, the call failed.</summary>
    public static bool IsTransportFailure(Exception ex) =>
        ex is SocketException or IOException or TimeoutException or Http2ProtocolException or HpackException or ObjectDisposedException;

    /// <summary>
    /// A call that ended without a response: a deadline is DEADLINE_EXCEEDED, a broken protocol INTERNAL (retrying
    /// would meet the same server), anything else (refused, reset, GOAWAY before our stream) UNAVAILABLE.
    /// </summary>
    public static GrpcCallStatus FromTransportFailure(Exception ex, string address) => ex switch
    {
        TimeoutException => new GrpcCallStatus(GrpcStatusCode.DeadlineExceeded, $"no reply from {address} within the deadline", ex),
        Http2ProtocolException or HpackException => new GrpcCallStatus(GrpcStatusCode.Internal, $"{address} broke the HTTP/2 protocol: {ex.Message}", ex),
        _ => new GrpcCallStatus(GrpcStatusCode.Unavailable, $"{address}: {ex.Message}", ex),
    };
}
