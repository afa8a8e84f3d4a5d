using System.Buffers;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>The spec's error object: {cniVersion, code, msg, details}, absent members omitted.</summary>
internal static class CniErrorJson
{
    private const string What = "error";

    public static byte[] Write(CniError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, CniJsonEncoder.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteOptionalString("cniVersion"u8, error.CniVersion);
            // The wire code is unsigned (libcni's uint).
            writer.WriteNumber("code"u8, unchecked((uint)error.Code));
            writer.WriteOptionalString("msg"u8, error.Msg);
            writer.WriteOptionalString("details"u8, error.Details);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A missing code reads as 0, a missing msg as ""; a null or negative code is refused.</summary>
    public static CniError Read(ReadOnlySpan<byte> json)
    {
        using var document = CniJsonValue.ParseObjectDocument(json, What);
        string? version = null, msg = null, details = null;
        uint code = 0;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("cniVersion"u8))
            {
                version = CniJsonValue.ReadString(value, What, "cniVersion");
            }
            else if (property.NameEquals("code"u8))
            {
                code = CniJsonValue.ReadUInt32(value, What, "code");
            }
            else if (property.NameEquals("msg"u8))
            {
                msg = CniJsonValue.ReadString(value, What, "msg");
            }
            else if (property.NameEquals("details"u8))
            {
                details = CniJsonValue.ReadString(value, What, "details");
            }
        }

        return new CniError(version, unchecked((int)code), msg ?? "", details);
    }
}
