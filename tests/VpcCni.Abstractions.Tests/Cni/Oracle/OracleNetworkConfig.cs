using System.Text.Json;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni.Oracle;

/// <summary>A network configuration as the oracle reads it: the values <see cref="NetworkConfig"/> exposes.</summary>
internal sealed record OracleNetworkConfigView(
    string CniVersion,
    IReadOnlyList<string> CniVersions,
    string Name,
    string Type,
    bool DisableCheck,
    bool DisableGC,
    JsonElement? Ipam,
    string? IpamType,
    CniDns? Dns,
    JsonElement? Args,
    JsonElement? RuntimeConfig,
    IReadOnlyDictionary<string, bool> Capabilities,
    CniResult? PrevResult,
    IReadOnlyList<CniAttachment>? ValidAttachments);

/// <summary>
/// NetworkConfig.Parse as it was on JsonSerializer (dns and prevResult re-read from their raw text by the serializer);
/// copied unchanged but for the parts that did not change, which call the production helpers.
/// </summary>
internal static class OracleNetworkConfig
{
    private const string ValidAttachmentsKey = NetworkConfig.ValidAttachmentsKey;
    private const string LegacyAttachmentsKey = NetworkConfig.LegacyAttachmentsKey;
    private const string DefaultVersion = NetworkConfig.DefaultVersion;

    public static OracleNetworkConfigView Parse(ReadOnlySpan<byte> json)
    {
        var bytes = json.ToArray();
        var root = NetworkConfig.ParseObject(bytes, "network configuration");
        var version = NetworkConfig.ReadVersion(root, "cniVersion") ?? DefaultVersion;
        var name = NetworkConfig.ReadString(root, "name") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name", "the configuration has no \"name\"");
        NetworkConfig.ValidateNetworkName(name);
        var type = NetworkConfig.ReadString(root, "type");
        if (string.IsNullOrEmpty(type))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing plugin type", "the configuration has no \"type\"");
        }

        if (type.Contains('/', StringComparison.Ordinal) || type.Contains('\\', StringComparison.Ordinal))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid plugin type", $"\"{type}\" must be a file name without path separators");
        }

        JsonElement? ipam = null;
        string? ipamType = null;
        if (root.TryGetProperty("ipam", out var ipamElement) && ipamElement.ValueKind != JsonValueKind.Null)
        {
            if (ipamElement.ValueKind != JsonValueKind.Object)
            {
                throw WrongType("ipam", "an object");
            }

            ipam = ipamElement;
            ipamType = NetworkConfig.ReadString(ipamElement, "type", "ipam.type");
        }

        // The object initializer's order, which is the order errors were reported in.
        var versions = NetworkConfig.ReadVersionList(root);
        var disableCheck = NetworkConfig.ReadBool(root, "disableCheck");
        var disableGC = NetworkConfig.ReadBool(root, "disableGC");
        var dns = ReadDns(root);
        var args = ReadObject(root, "args");
        var runtimeConfig = ReadObject(root, "runtimeConfig");
        var capabilities = ReadCapabilities(root);
        var prevResult = ReadPrevResult(root, version);
        var attachments = ReadAttachments(root);
        return new OracleNetworkConfigView(version, versions, name, type, disableCheck, disableGC, ipam, ipamType, dns, args, runtimeConfig, capabilities, prevResult, attachments);
    }

    private static CniException WrongType(string key, string expected) => NetworkConfig.WrongType(key, expected);

    private static CniDns? ReadDns(JsonElement root)
    {
        var dns = ReadObject(root, "dns");
        return dns is null ? null : OracleCniJson.FromDnsDto(OracleCniJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(dns.Value.GetRawText()), OracleCniJsonContext.Default.DnsDto, "dns"));
    }

    private static CniResult? ReadPrevResult(JsonElement root, string configVersion)
    {
        var prev = ReadObject(root, "prevResult");
        if (prev is null)
        {
            return null;
        }

        // An empty prevResult is allowed on DEL ("should still return without error").
        if (!prev.Value.EnumerateObject().Any())
        {
            return null;
        }

        var parsed = OracleCniJson.DeserializeResult(System.Text.Encoding.UTF8.GetBytes(prev.Value.GetRawText()), configVersion);
        return parsed.CniVersion == configVersion ? parsed : parsed.ConvertTo(configVersion);
    }

    private static JsonElement? ReadObject(JsonElement obj, string key)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw WrongType(key, "an object");
    }

    private static Dictionary<string, bool> ReadCapabilities(JsonElement root)
    {
        var capabilities = new Dictionary<string, bool>(StringComparer.Ordinal);
        var obj = ReadObject(root, "capabilities");
        if (obj is null)
        {
            return capabilities;
        }

        foreach (var property in obj.Value.EnumerateObject())
        {
            capabilities[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw WrongType($"capabilities.{property.Name}", "a boolean"),
            };
        }

        return capabilities;
    }

    private static List<CniAttachment>? ReadAttachments(JsonElement root)
    {
        var key = root.TryGetProperty(ValidAttachmentsKey, out var list) && list.ValueKind != JsonValueKind.Null
            ? ValidAttachmentsKey
            : root.TryGetProperty(LegacyAttachmentsKey, out list) && list.ValueKind != JsonValueKind.Null ? LegacyAttachmentsKey : null;
        if (key is null)
        {
            return null;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(key, "an array of {containerID, ifname}");
        }

        var attachments = new List<CniAttachment>(list.GetArrayLength());
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw WrongType($"{key}[{index}]", "an object {containerID, ifname}");
            }

            var containerId = NetworkConfig.ReadString(item, "containerID", $"{key}[{index}].containerID");
            var ifName = NetworkConfig.ReadString(item, "ifname", $"{key}[{index}].ifname");
            if (string.IsNullOrEmpty(containerId) || string.IsNullOrEmpty(ifName))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid GC attachment", $"{key}[{index}] needs containerID and ifname");
            }

            attachments.Add(new CniAttachment(containerId, ifName));
            index++;
        }

        return attachments;
    }
}
