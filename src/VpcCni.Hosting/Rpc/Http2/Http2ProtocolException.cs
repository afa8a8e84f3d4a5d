namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// The peer broke HTTP/2 (RFC 9113) or gRPC framing: a connection error, so the connection cannot be used further.
/// The message ends with the error code's name, e.g. "(FRAME_SIZE_ERROR)".
/// </summary>
internal sealed class Http2ProtocolException(string message, Http2ErrorCode errorCode = Http2ErrorCode.ProtocolError)
    : Exception($"{message} ({NameOf(errorCode)})")
{
    public Http2ErrorCode ErrorCode { get; } = errorCode;

    /// <summary>The RFC's name of a code, as peers log it.</summary>
    public static string NameOf(Http2ErrorCode code) => code switch
    {
        Http2ErrorCode.NoError => "NO_ERROR",
        Http2ErrorCode.ProtocolError => "PROTOCOL_ERROR",
        Http2ErrorCode.InternalError => "INTERNAL_ERROR",
        Http2ErrorCode.FlowControlError => "FLOW_CONTROL_ERROR",
        Http2ErrorCode.SettingsTimeout => "SETTINGS_TIMEOUT",
        Http2ErrorCode.StreamClosed => "STREAM_CLOSED",
        Http2ErrorCode.FrameSizeError => "FRAME_SIZE_ERROR",
        Http2ErrorCode.RefusedStream => "REFUSED_STREAM",
        Http2ErrorCode.Cancel => "CANCEL",
        Http2ErrorCode.CompressionError => "COMPRESSION_ERROR",
        Http2ErrorCode.ConnectError => "CONNECT_ERROR",
        Http2ErrorCode.EnhanceYourCalm => "ENHANCE_YOUR_CALM",
        Http2ErrorCode.InadequateSecurity => "INADEQUATE_SECURITY",
        Http2ErrorCode.Http11Required => "HTTP_1_1_REQUIRED",
        _ => $"error 0x{(uint)code:x}",
    };
}
