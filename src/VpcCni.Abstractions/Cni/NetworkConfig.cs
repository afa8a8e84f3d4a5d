using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace VpcCni.Cni;

/// <summary>
/// The request configuration a plugin reads on stdin: the plugin object with the runtime's insertions
/// (name, cniVersion, runtimeConfig, prevResult, GC's valid attachments). Plugin-specific keys stay reachable
/// through <see cref="Raw"/>, <see cref="TryGetProperty"/> and <see cref="GetPluginConfig{T}"/>.
/// </summary>
public sealed class NetworkConfig
{
    public const string ValidAttachmentsKey = "cni.dev/valid-attachments";
    public const string LegacyAttachmentsKey = "cni.dev/attachments";

    /// <summary>The version assumed when a config has no cniVersion (the spec's upgrade notes say 0.2.0).</summary>
    public const string DefaultVersion = VpcCni.Cni.CniVersion.V0_2_0;

    private const int MaxNetworkNameLength = 256;

    private NetworkConfig(JsonElement raw, byte[] rawBytes)
    {
        Raw = raw;
        RawBytes = rawBytes;
    }

    public string CniVersion { get; private init; } = DefaultVersion;

    /// <summary>1.1.0: every version the configuration supports.</summary>
    public IReadOnlyList<string> CniVersions { get; private init; } = [];

    public string Name { get; private init; } = "";

    public string Type { get; private init; } = "";

    public bool DisableCheck { get; private init; }

    public bool DisableGC { get; private init; }

    /// <summary>The "ipam" object, if any.</summary>
    public JsonElement? Ipam { get; private init; }

    /// <summary>The "ipam.type", if any.</summary>
    public string? IpamType { get; private init; }

    public CniDns? Dns { get; private init; }

    /// <summary>The "args" object (runtime metadata; unknown content must be ignored).</summary>
    public JsonElement? Args { get; private init; }

    /// <summary>The "runtimeConfig" object (capability data the runtime inserted).</summary>
    public JsonElement? RuntimeConfig { get; private init; }

    public IReadOnlyDictionary<string, bool> Capabilities { get; private init; } = new Dictionary<string, bool>();

    /// <summary>The previous plugin's (or the cached final) result, converted to <see cref="CniVersion"/>.</summary>
    public CniResult? PrevResult { get; private init; }

    /// <summary>GC: the attachments still valid (from cni.dev/valid-attachments, else cni.dev/attachments).</summary>
    public IReadOnlyList<CniAttachment>? ValidAttachments { get; private init; }

    /// <summary>The whole object, plugin-specific keys included.</summary>
    public JsonElement Raw { get; }

    /// <summary>The exact bytes received; delegated (IPAM) plugins must get these unchanged.</summary>
    public ReadOnlyMemory<byte> RawBytes { get; }

    /// <summary>
    /// Parses and validates a request configuration. Malformed JSON or wrongly typed well-known keys are code 6;
    /// a missing or invalid name or type is code 7.
    /// </summary>
    public static NetworkConfig Parse(ReadOnlySpan<byte> json)
    {
        var bytes = json.ToArray();
        var root = ParseObject(bytes, "network configuration");
        var version = ReadVersion(root, "cniVersion") ?? DefaultVersion;
        var name = ReadString(root, "name") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name", "the configuration has no \"name\"");
        ValidateNetworkName(name);
        var type = ReadString(root, "type");
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
            ipamType = ReadString(ipamElement, "type", "ipam.type");
        }

        return new NetworkConfig(root, bytes)
        {
            CniVersion = version,
            CniVersions = ReadVersionList(root),
            Name = name,
            Type = type,
            DisableCheck = ReadBool(root, "disableCheck"),
            DisableGC = ReadBool(root, "disableGC"),
            Ipam = ipam,
            IpamType = ipamType,
            Dns = ReadDns(root),
            Args = ReadObject(root, "args"),
            RuntimeConfig = ReadObject(root, "runtimeConfig"),
            Capabilities = ReadCapabilities(root),
            PrevResult = ReadPrevResult(root, version),
            ValidAttachments = ReadAttachments(root),
        };
    }

    /// <summary>Network names follow the container-id rule and must be usable as a file name.</summary>
    public static void ValidateNetworkName(string name)
    {
        if (name.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name", "\"name\" is empty");
        }

        if (name.Length > MaxNetworkNameLength || !CniEnvironment.IsValidIdentifier(name) || name is "." or "..")
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid network name", $"\"{name}\" must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$ and be a valid file name");
        }
    }

    public bool TryGetProperty(string name, out JsonElement value) => Raw.TryGetProperty(name, out value);

    /// <summary>Typed access to the whole object with the plugin's own source-generated type info.</summary>
    public T GetPluginConfig<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        try
        {
            return Raw.Deserialize(typeInfo) ?? throw new CniException(CniErrorCode.DecodingFailure, "failed to decode network configuration", "null");
        }
        catch (JsonException ex)
        {
            throw new CniException(CniErrorCode.DecodingFailure, "failed to decode network configuration", ex.Message, ex);
        }
    }

    internal static JsonElement ParseObject(ReadOnlyMemory<byte> bytes, string what)
    {
        try
        {
            // JsonElement.ParseValue builds an element that needs no disposal (no pooled arrays, no Clone): a plugin that
            // parses one document per process skips the pool's first return (the runtime's processor-id speed check).
            var span = bytes.Span;
            if (span.StartsWith("\uFEFF"u8))
            {
                span = span[3..]; // JsonDocument.Parse skips a UTF-8 BOM; the reader does not.
            }

            var reader = new Utf8JsonReader(span, new JsonReaderOptions { MaxDepth = 64 });
            var root = JsonElement.ParseValue(ref reader);
            // Only whitespace may follow the value; the reader throws on anything else, as JsonDocument.Parse does.
            _ = reader.Read();
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", $"expected a JSON object, found {root.ValueKind}");
            }

            return root;
        }
        catch (JsonException ex)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", ex.Message, ex);
        }
        catch (ArgumentException ex)
        {
            // Invalid UTF-8 surfaces as ArgumentException in some paths.
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", ex.Message, ex);
        }
    }

    internal static string? ReadString(JsonElement obj, string key, string? displayName = null)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(displayName ?? key, "a string");
    }

    internal static bool ReadBool(JsonElement obj, string key)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(key, "a boolean"),
        };
    }

    internal static string? ReadVersion(JsonElement obj, string key)
    {
        var version = ReadString(obj, key);
        if (version is not null)
        {
            VpcCni.Cni.CniVersion.ParseOrThrow(version);
        }

        return version;
    }

    internal static IReadOnlyList<string> ReadVersionList(JsonElement obj)
    {
        if (!obj.TryGetProperty("cniVersions", out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw WrongType("cniVersions", "an array of version strings");
        }

        var versions = new List<string>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WrongType("cniVersions", "an array of version strings");
            VpcCni.Cni.CniVersion.ParseOrThrow(text);
            versions.Add(text);
        }

        return versions;
    }

    internal static CniException WrongType(string key, string expected) =>
        new(CniErrorCode.DecodingFailure, "failed to decode network configuration", $"\"{key}\" must be {expected}");

    private static JsonElement? ReadObject(JsonElement obj, string key)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw WrongType(key, "an object");
    }

    private static CniDns? ReadDns(JsonElement root)
    {
        var dns = ReadObject(root, "dns");
        return dns is null ? null : CniDnsJson.Read(dns.Value, "dns", "dns");
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

        var parsed = CniResultJsonReader.Read(prev.Value, configVersion);
        return parsed.CniVersion == configVersion ? parsed : parsed.ConvertTo(configVersion);
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

            var containerId = ReadString(item, "containerID", $"{key}[{index}].containerID");
            var ifName = ReadString(item, "ifname", $"{key}[{index}].ifname");
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
