using System.Buffers;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>The header block of a unary gRPC request (gRPC over HTTP/2: method, path, te, content-type, timeout, metadata).</summary>
internal static class GrpcRequestHeaders
{
    /// <summary>
    /// Writes the block; <paramref name="tableSizeUpdate"/> is a dynamic table size update to open it with (RFC 7541
    /// §4.2), owed after the peer lowered SETTINGS_HEADER_TABLE_SIZE, or null when none is owed.
    /// </summary>
    public static void Write(IBufferWriter<byte> block, string path, string authority, IReadOnlyList<(string Name, string Value)>? requestHeaders, TimeSpan? timeout, int? tableSizeUpdate = null)
    {
        if (tableSizeUpdate is { } size)
        {
            HpackEncoder.WriteInteger(block, size, 5, 0x20);
        }

        HpackEncoder.WriteIndexed(block, 3); // :method POST
        HpackEncoder.WriteIndexed(block, 6); // :scheme http
        HpackEncoder.WriteLiteral(block, 4, path); // :path
        HpackEncoder.WriteLiteral(block, 1, authority); // :authority
        HpackEncoder.WriteLiteral(block, 31, "application/grpc"); // content-type
        HpackEncoder.WriteLiteral(block, "te", "trailers");
        if (timeout is { } limit)
        {
            HpackEncoder.WriteLiteral(block, "grpc-timeout", FormatTimeout(limit));
        }

        HpackEncoder.WriteLiteral(block, 58, "vpc-cni-grpc/1"); // user-agent
        if (requestHeaders is not null)
        {
            foreach (var (name, value) in requestHeaders)
            {
                HpackEncoder.WriteLiteral(block, name, value);
            }
        }
    }

    /// <summary>gRPC's timeout header: at most 8 digits and a unit.</summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        var milliseconds = (long)Math.Ceiling(Math.Max(timeout.TotalMilliseconds, 1));
        return milliseconds <= 99_999_999 ? $"{milliseconds}m" : $"{Math.Min((long)Math.Ceiling(timeout.TotalSeconds), 99_999_999)}S";
    }
}
