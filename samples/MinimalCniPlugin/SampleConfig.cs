using System.Text.Json.Serialization;

/// <summary>The plugin's own keys in its conflist entry.</summary>
/// <param name="Address">The pod's IPv4 address (static: this sample has no IPAM).</param>
/// <param name="Mtu">MTU of both veth ends.</param>
/// <param name="VethPrefix">Host veth names are this prefix + 11 hex characters (1 to 4 characters).</param>
/// <remarks>Constructor parameters, not init-only properties: the source generator keeps a parameter's default when
/// the key is absent, but would overwrite an init-only property's initializer with default(T).</remarks>
internal sealed record SampleConfig(
    [property: JsonPropertyName("address")] string? Address,
    [property: JsonPropertyName("mtu")] int Mtu = 1500,
    [property: JsonPropertyName("vethPrefix")] string VethPrefix = "smp");

/// <summary>Source-generated JSON: no reflection, so the plugin can be published with Native AOT.</summary>
[JsonSerializable(typeof(SampleConfig))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;
