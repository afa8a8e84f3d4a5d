using System.Buffers;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>
/// A network configuration file (".conflist", or a pre-1.0.0 single-plugin ".conf" read as a one-element list),
/// with the runtime side of the protocol: picking the version and deriving each plugin's request configuration.
/// </summary>
public sealed class NetworkConfigList
{
    private NetworkConfigList(JsonElement raw) => Raw = raw;

    public string CniVersion { get; private init; } = NetworkConfig.DefaultVersion;

    public IReadOnlyList<string> CniVersions { get; private init; } = [];

    public string Name { get; private init; } = "";

    public bool DisableCheck { get; private init; }

    public bool DisableGC { get; private init; }

    public bool LoadOnlyInlinedPlugins { get; private init; }

    /// <summary>The plugin objects, in chain order.</summary>
    public IReadOnlyList<JsonElement> Plugins { get; private init; } = [];

    public JsonElement Raw { get; }

    /// <summary>Parses a conflist, or a single plugin config (only below 1.0.0, as the spec allows).</summary>
    public static NetworkConfigList Parse(ReadOnlySpan<byte> json)
    {
        var root = NetworkConfig.ParseObject(json.ToArray(), "network configuration list");
        var version = NetworkConfig.ReadVersion(root, "cniVersion") ?? NetworkConfig.DefaultVersion;
        var name = NetworkConfig.ReadString(root, "name") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name", "the configuration has no \"name\"");
        NetworkConfig.ValidateNetworkName(name);

        List<JsonElement> plugins;
        if (root.TryGetProperty("plugins", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw NetworkConfig.WrongType("plugins", "an array of plugin objects");
            }

            plugins = [.. list.EnumerateArray()];
            if (plugins.Count == 0)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "no plugins in list", $"network \"{name}\" has an empty \"plugins\" list");
            }

            for (var i = 0; i < plugins.Count; i++)
            {
                if (plugins[i].ValueKind != JsonValueKind.Object)
                {
                    throw NetworkConfig.WrongType($"plugins[{i}]", "an object");
                }

                if (string.IsNullOrEmpty(NetworkConfig.ReadString(plugins[i], "type", $"plugins[{i}].type")))
                {
                    throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing plugin type", $"plugins[{i}] has no \"type\"");
                }
            }
        }
        else if (root.TryGetProperty("type", out _))
        {
            if (VpcCni.Cni.CniVersion.AtLeast(version, VpcCni.Cni.CniVersion.V1_0_0))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "single-plugin configurations were removed in CNI 1.0.0", $"network \"{name}\" at {version} needs a \"plugins\" list");
            }

            plugins = [root];
        }
        else
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "no plugins in list", $"network \"{name}\" has neither \"plugins\" nor \"type\"");
        }

        return new NetworkConfigList(root)
        {
            CniVersion = version,
            CniVersions = NetworkConfig.ReadVersionList(root),
            Name = name,
            DisableCheck = NetworkConfig.ReadBool(root, "disableCheck"),
            DisableGC = NetworkConfig.ReadBool(root, "disableGC"),
            LoadOnlyInlinedPlugins = NetworkConfig.ReadBool(root, "loadOnlyInlinedPlugins"),
            Plugins = plugins,
        };
    }

    /// <summary>
    /// The highest version of cniVersion ∪ cniVersions that the runtime supports (entries above it are ignored);
    /// null when none is.
    /// </summary>
    public string? SelectVersion(IEnumerable<string>? runtimeSupported = null)
    {
        var supported = (runtimeSupported ?? VpcCni.Cni.CniVersion.Supported).ToHashSet(StringComparer.Ordinal);
        return CniVersions.Append(CniVersion)
            .Where(supported.Contains)
            .OrderByDescending(v => VpcCni.Cni.CniVersion.ParseOrThrow(v))
            .FirstOrDefault();
    }

    /// <summary>
    /// Derives the request configuration for plugin <paramref name="index"/> as a runtime does: the plugin object
    /// with "name" and "cniVersion" set, "runtimeConfig" holding the capability data the plugin enabled (omitted when
    /// empty), and "prevResult" when given.
    /// </summary>
    public byte[] BuildRequestConfig(int index, string version, CniResult? prevResult = null, IReadOnlyDictionary<string, JsonElement>? capabilityArgs = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Plugins.Count);
        var plugin = Plugins[index];
        var enabled = new List<KeyValuePair<string, JsonElement>>();
        if (capabilityArgs is not null && plugin.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Object)
        {
            foreach (var cap in caps.EnumerateObject())
            {
                if (cap.Value.ValueKind == JsonValueKind.True && capabilityArgs.TryGetValue(cap.Name, out var data))
                {
                    enabled.Add(new(cap.Name, data));
                }
            }
        }

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, CniJsonEncoder.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("cniVersion", version);
            writer.WriteString("name", Name);
            foreach (var property in plugin.EnumerateObject())
            {
                if (property.NameEquals("cniVersion") || property.NameEquals("name") || property.NameEquals("runtimeConfig") ||
                    property.NameEquals("prevResult") || property.NameEquals("plugins"))
                {
                    continue;
                }

                property.WriteTo(writer);
            }

            if (enabled.Count > 0)
            {
                writer.WriteStartObject("runtimeConfig");
                foreach (var (key, value) in enabled)
                {
                    writer.WritePropertyName(key);
                    value.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            if (prevResult is not null)
            {
                writer.WritePropertyName("prevResult");
                writer.WriteRawValue(prevResult.ConvertTo(version).ToJsonUtf8(), skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
