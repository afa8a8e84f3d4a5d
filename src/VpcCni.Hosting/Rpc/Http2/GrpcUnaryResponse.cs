using System.Buffers;
using System.Buffers.Binary;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Turns a finished unary response (header block, trailer block, DATA bytes) into its result.</summary>
internal static class GrpcUnaryResponse
{
    public static UnaryCallResult Complete(List<(string Name, string Value)> headers, List<(string Name, string Value)>? trailers, ReadOnlySpan<byte> body)
    {
        var responseHeaders = GrpcMetadataConversion.ToMetadata(headers);
        // Trailers-only responses carry grpc-status in the one header block.
        var final = trailers ?? headers;
        var trailerMetadata = trailers is null ? responseHeaders : GrpcMetadataConversion.ToMetadata(trailers);
        var httpStatus = Find(headers, ":status");
        if (httpStatus != "200")
        {
            return new UnaryCallResult(GrpcStatusMapping.FromHttpStatus(httpStatus), null, responseHeaders, trailerMetadata);
        }

        var status = GrpcStatusMapping.FromGrpcStatus(Find(final, "grpc-status"), Find(final, "grpc-message"));
        if (status.StatusCode != StatusCode.OK)
        {
            return new UnaryCallResult(status, null, responseHeaders, trailerMetadata);
        }

        if (body.Length < 5)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "OK status without a response message"), null, responseHeaders, trailerMetadata);
        }

        // The gRPC message: 1-byte compressed flag, 4-byte big-endian length, protobuf bytes.
        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        if (body[0] != 0)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "the response message is compressed, and no compression was offered"), null, responseHeaders, trailerMetadata);
        }

        if (length != body.Length - 5)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "a unary response must hold exactly one message"), null, responseHeaders, trailerMetadata);
        }

        return new UnaryCallResult(Status.DefaultSuccess, body[5..].ToArray(), responseHeaders, trailerMetadata);
    }

    /// <summary>The result of a response larger than the caller accepts.</summary>
    public static UnaryCallResult TooLarge(int maxResponseBytes) =>
        new(new Status(StatusCode.ResourceExhausted, $"the response is larger than {maxResponseBytes} bytes"), null, [], []);

    /// <summary>The result of a stream the server reset.</summary>
    public static UnaryCallResult Reset(Http2ErrorCode code) => new(GrpcStatusMapping.FromRstStream(code), null, [], []);

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
