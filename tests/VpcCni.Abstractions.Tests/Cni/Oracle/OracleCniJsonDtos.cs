using System.Text.Json.Serialization;

namespace VpcCni.Tests.Cni.Oracle;

// The codec's wire shapes before it stopped using JsonSerializer (copied unchanged): the differential tests' oracle.
internal sealed class ResultDto
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("interfaces")]
    public List<InterfaceDto>? Interfaces { get; set; }

    [JsonPropertyName("ips")]
    public List<IPConfigDto>? Ips { get; set; }

    [JsonPropertyName("routes")]
    public List<RouteDto>? Routes { get; set; }

    [JsonPropertyName("dns")]
    public DnsDto? Dns { get; set; }
}

internal sealed class InterfaceDto
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("mac")]
    public string? Mac { get; set; }

    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    [JsonPropertyName("sandbox")]
    public string? Sandbox { get; set; }

    [JsonPropertyName("socketPath")]
    public string? SocketPath { get; set; }

    [JsonPropertyName("pciID")]
    public string? PciId { get; set; }
}

internal sealed class IPConfigDto
{
    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("interface")]
    public int? Interface { get; set; }

    [JsonPropertyName("address")]
    public string? Address { get; set; }

    [JsonPropertyName("gateway")]
    public string? Gateway { get; set; }
}

internal sealed class RouteDto
{
    [JsonPropertyName("dst")]
    public string? Dst { get; set; }

    [JsonPropertyName("gw")]
    public string? Gw { get; set; }

    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    [JsonPropertyName("advmss")]
    public int? AdvMss { get; set; }

    [JsonPropertyName("priority")]
    public int? Priority { get; set; }

    [JsonPropertyName("table")]
    public int? Table { get; set; }

    [JsonPropertyName("scope")]
    public int? Scope { get; set; }
}

internal sealed class DnsDto
{
    [JsonPropertyName("nameservers")]
    public List<string>? Nameservers { get; set; }

    [JsonPropertyName("domain")]
    public string? Domain { get; set; }

    [JsonPropertyName("search")]
    public List<string>? Search { get; set; }

    [JsonPropertyName("options")]
    public List<string>? Options { get; set; }
}

internal sealed class LegacyResultDto
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("ip4")]
    public LegacyIPDto? IP4 { get; set; }

    [JsonPropertyName("ip6")]
    public LegacyIPDto? IP6 { get; set; }

    [JsonPropertyName("dns")]
    public DnsDto? Dns { get; set; }
}

internal sealed class LegacyIPDto
{
    [JsonPropertyName("ip")]
    public string? IP { get; set; }

    [JsonPropertyName("gateway")]
    public string? Gateway { get; set; }

    [JsonPropertyName("routes")]
    public List<LegacyRouteDto>? Routes { get; set; }
}

internal sealed class LegacyRouteDto
{
    [JsonPropertyName("dst")]
    public string? Dst { get; set; }

    [JsonPropertyName("gw")]
    public string? Gw { get; set; }
}

internal sealed class ErrorDto
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("code")]
    public uint Code { get; set; }

    [JsonPropertyName("msg")]
    public string? Msg { get; set; }

    [JsonPropertyName("details")]
    public string? Details { get; set; }
}

internal sealed class VersionDto
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("supportedVersions")]
    public List<string>? SupportedVersions { get; set; }
}

internal sealed class VersionRequestDto
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }
}

internal sealed class AttachmentDto
{
    [JsonPropertyName("containerID")]
    public string? ContainerId { get; set; }

    [JsonPropertyName("ifname")]
    public string? IfName { get; set; }
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(ResultDto))]
[JsonSerializable(typeof(LegacyResultDto))]
[JsonSerializable(typeof(ErrorDto))]
[JsonSerializable(typeof(VersionDto))]
[JsonSerializable(typeof(VersionRequestDto))]
[JsonSerializable(typeof(List<AttachmentDto>))]
[JsonSerializable(typeof(DnsDto))]
[JsonSerializable(typeof(Dictionary<string, bool>))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class OracleCniJsonContext : JsonSerializerContext;
