using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Decoded header fields as gRPC <see cref="Metadata"/>: reserved and invalid keys dropped, "-bin" values base64-decoded.</summary>
internal static class GrpcMetadataConversion
{
    public static Metadata ToMetadata(IReadOnlyList<(string Name, string Value)> fields)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in fields)
        {
            if (name.StartsWith(':') || name is "content-type" or "grpc-status" or "grpc-message")
            {
                continue;
            }

            if (!IsValidMetadataKey(name))
            {
                // Metadata refuses such keys (upper case, spaces, ...); a server's odd header must not fail the call.
                continue;
            }

            if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                // Binary metadata is base64, often unpadded; an undecodable value is dropped rather than failing the call.
                var padded = value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '=');
                var buffer = new byte[padded.Length];
                if (Convert.TryFromBase64String(padded, buffer, out var written))
                {
                    metadata.Add(name, buffer[..written]);
                }
            }
            else
            {
                metadata.Add(name, value);
            }
        }

        return metadata;
    }

    /// <summary>Request metadata as header fields: "-bin" values base64 without padding, as gRPC sends them.</summary>
    public static List<(string Name, string Value)>? ToHeaderFields(Metadata? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return null;
        }

        var fields = new List<(string Name, string Value)>(metadata.Count);
        foreach (var entry in metadata)
        {
            fields.Add((entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value));
        }

        return fields;
    }

    /// <summary>Grpc.Core's rule for metadata keys: lower-case letters, digits, '_', '-', '.'.</summary>
    private static bool IsValidMetadataKey(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
