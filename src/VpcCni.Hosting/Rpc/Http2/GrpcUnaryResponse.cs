using System.Buffers;
using System.Buffers.Binary;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Turns a finished unary response (header block, trailer block, DATA bytes) into its result.</summary>
internal static class GrpcUnaryResponse
{
    public static UnaryCallResult Complete(List<(string Name, string Value)> headers, List<(string Name, string Value)>? trailers, ReadOnlySpan<byte> body)
    {
        // Trailers-only responses carry grpc-status in the one header block.
        var final = trailers ?? headers;
        var httpStatus = Find(headers, ":status");
        if (httpStatus != "200")
        {
            return new UnaryCallResult(GrpcStatusMapping.FromHttpStatus(httpStatus), null, headers, final);
        }

        var status = GrpcStatusMapping.FromGrpcStatus(Find(final, "grpc-status"), Find(final, "grpc-message"));
        if (status.Code != GrpcStatusCode.OK)
        {
            return new UnaryCallResult(status, null, headers, final);
        }

        if (body.Length < 5)
        {
            return new UnaryCallResult(new GrpcCallStatus(GrpcStatusCode.Internal, "OK status without a response message"), null, headers, final);
        }

        // The gRPC message: 1-byte compressed flag, 4-byte big-endian length, protobuf bytes.
        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        if (body[0] != 0)
        {
            return new UnaryCallResult(new GrpcCallStatus(GrpcStatusCode.Internal, "the response message is compressed, and no compression was offered"), null, headers, final);
        }

        if (length != body.Length - 5)
        {
            return new UnaryCallResult(new GrpcCallStatus(GrpcStatusCode.Internal, "a unary response must hold exactly one message"), null, headers, final);
        }

        return new UnaryCallResult(GrpcCallStatus.Ok, body[5..].ToArray(), headers, final);
    }

    /// <summary>The result of a response larger than the caller accepts.</summary>
    public static UnaryCallResult TooLarge(int maxResponseBytes) =>
        UnaryCallResult.Failed(new GrpcCallStatus(GrpcStatusCode.ResourceExhausted, $"the response is larger than {maxResponseBytes} bytes"));

    /// <summary>The result of a stream the server reset.</summary>
    public static UnaryCallResult Reset(Http2ErrorCode code) => UnaryCallResult.Failed(GrpcStatusMapping.FromRstStream(code));

    /// <summary>Writes the gRPC length-prefixed message (uncompressed) of <paramref name="message"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var body = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), message.Length);
        message.CopyTo(body.AsSpan(5));
        return body;
    }

    private static string? Find(List<(string Name, string Value)> fields, string name)
    {
        foreach (var (fieldName, value) in fields)
        {
            if (fieldName == name)
            {
                return value;
            }
        }

        return null;
    }
}
