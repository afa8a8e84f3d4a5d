using System.Buffers;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>The VERSION answer {cniVersion, supportedVersions}, and the version a VERSION request asks for.</summary>
internal static class CniVersionResultJson
{
    private const string What = "VERSION result";

    public static byte[] Write(CniVersionResult version)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, CniJsonEncoder.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteOptionalString("cniVersion"u8, version.CniVersion);
            writer.WriteOptionalStringList("supportedVersions"u8, version.SupportedVersions);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>libcni's rules: no cniVersion means 0.1.0; only a 0.2.0 answer may omit the list, meaning [0.1.0, 0.2.0].</summary>
    public static CniVersionResult Read(ReadOnlySpan<byte> json)
    {
        string? version = null;
        List<string>? supported = null;
        using (var document = CniJsonValue.ParseObjectDocument(json, What))
        {
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("cniVersion"u8))
                {
                    version = CniJsonValue.ReadString(property.Value, What, "cniVersion");
                }
                else if (property.NameEquals("supportedVersions"u8))
                {
                    supported = CniJsonValue.ReadStringList(property.Value, What, "supportedVersions");
                }
            }
        }

        version ??= CniVersion.V0_1_0;
        CniVersion.ParseOrThrow(version);
        if (supported is null)
        {
            return version == CniVersion.V0_2_0
                ? new CniVersionResult(version, [CniVersion.V0_1_0, CniVersion.V0_2_0])
                : throw new CniException(CniErrorCode.DecodingFailure, "VERSION result has no supportedVersions", $"cniVersion \"{version}\" requires the supportedVersions list");
        }

        foreach (var v in supported)
        {
            CniVersion.ParseOrThrow(v);
        }

        return new CniVersionResult(version, supported);
    }

    /// <summary>The "cniVersion" of a VERSION request (or of any request, for an error's version); null when absent.</summary>
    public static string? ReadRequestVersion(ReadOnlySpan<byte> json)
    {
        using var document = CniJsonValue.ParseObjectDocument(json, "VERSION request");
        return CniJsonValue.ReadCniVersion(document.RootElement, "VERSION request");
    }
}
