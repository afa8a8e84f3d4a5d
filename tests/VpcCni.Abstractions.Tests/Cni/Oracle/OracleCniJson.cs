using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using VpcCni.Cni;

namespace VpcCni.Tests.Cni.Oracle;

/// <summary>
/// The codec as it was on JsonSerializer (copied unchanged but for names): the oracle the JsonSerializer-free codec is
/// compared with, byte for byte and error for error.
/// </summary>
internal static class OracleCniJson
{
    private static OracleCniJsonContext Context => OracleCniJsonContext.Default;

    public static byte[] SerializeResult(CniResult result)
    {
        var shape = CniVersion.ShapeOf(result.CniVersion);
        if (shape == ResultShape.Legacy)
        {
            // Writing a legacy shape is converting to it: only one address per family fits.
            var legacy = CniResultConverter.Convert(result, result.CniVersion);
            return JsonSerializer.SerializeToUtf8Bytes(ToLegacyDto(legacy), Context.LegacyResultDto);
        }

        return JsonSerializer.SerializeToUtf8Bytes(ToDto(result, shape), Context.ResultDto);
    }

    public static CniResult DeserializeResult(ReadOnlySpan<byte> json, string defaultVersion)
    {
        var version = Deserialize(json, Context.VersionRequestDto, "result").CniVersion ?? defaultVersion;
        CniVersion.ParseOrThrow(version);
        var shape = CniVersion.ShapeOf(version);
        return shape == ResultShape.Legacy
            ? FromLegacyDto(Deserialize(json, Context.LegacyResultDto, "result"), version)
            : FromDto(Deserialize(json, Context.ResultDto, "result"), version, shape);
    }

    public static byte[] SerializeError(CniError error) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new ErrorDto { CniVersion = error.CniVersion, Code = (uint)error.Code, Msg = error.Msg, Details = error.Details },
            Context.ErrorDto);

    public static CniError DeserializeError(ReadOnlySpan<byte> json)
    {
        var dto = Deserialize(json, Context.ErrorDto, "error");
        return new CniError(dto.CniVersion, (int)dto.Code, dto.Msg ?? "", dto.Details);
    }

    public static byte[] SerializeVersion(CniVersionResult version) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new VersionDto { CniVersion = version.CniVersion, SupportedVersions = [.. version.SupportedVersions] },
            Context.VersionDto);

    public static CniVersionResult DeserializeVersion(ReadOnlySpan<byte> json)
    {
        var dto = Deserialize(json, Context.VersionDto, "VERSION result");
        var version = dto.CniVersion ?? CniVersion.V0_1_0;
        CniVersion.ParseOrThrow(version);
        if (dto.SupportedVersions is null)
        {
            // libcni: only a 0.2.0 answer may omit the list, meaning [0.1.0, 0.2.0].
            return version == CniVersion.V0_2_0
                ? new CniVersionResult(version, [CniVersion.V0_1_0, CniVersion.V0_2_0])
                : throw new CniException(CniErrorCode.DecodingFailure, "VERSION result has no supportedVersions", $"cniVersion \"{version}\" requires the supportedVersions list");
        }

        foreach (var v in dto.SupportedVersions)
        {
            CniVersion.ParseOrThrow(v);
        }

        return new CniVersionResult(version, dto.SupportedVersions);
    }

    public static string? ReadRequestVersion(ReadOnlySpan<byte> json) =>
        Deserialize(json, Context.VersionRequestDto, "VERSION request").CniVersion;

    internal static T Deserialize<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> typeInfo, string what)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, typeInfo)
                ?? throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", "the document is JSON null");
        }
        catch (JsonException ex)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", ex.Message, ex);
        }
        catch (InvalidOperationException ex)
        {
            // Thrown for some invalid UTF-8 inputs.
            throw new CniException(CniErrorCode.DecodingFailure, $"failed to decode {what}", ex.Message, ex);
        }
    }

    internal static CniDns? FromDnsDto(DnsDto? dns) => dns is null
        ? null
        : new CniDns { Nameservers = dns.Nameservers, Domain = dns.Domain, Search = dns.Search, Options = dns.Options };

    private static DnsDto? ToDnsDto(CniDns? dns) => dns is null
        ? null
        : new DnsDto
        {
            Nameservers = dns.Nameservers?.ToList(),
            Domain = dns.Domain,
            Search = dns.Search?.ToList(),
            Options = dns.Options?.ToList(),
        };

    private static ResultDto ToDto(CniResult result, ResultShape shape)
    {
        var versioned = shape == ResultShape.Versioned;
        return new ResultDto
        {
            CniVersion = result.CniVersion,
            Interfaces = result.Interfaces.Count == 0 ? null : [.. result.Interfaces.Select(i => new InterfaceDto
            {
                Name = i.Name,
                Mac = i.Mac,
                Sandbox = i.Sandbox,
                Mtu = versioned ? null : i.Mtu,
                SocketPath = versioned ? null : i.SocketPath,
                PciId = versioned ? null : i.PciId,
            })],
            Ips = result.Ips.Count == 0 ? null : [.. result.Ips.Select(ip => new IPConfigDto
            {
                Version = versioned ? (ip.Address.IsIPv4 ? "4" : "6") : null,
                Interface = ip.Interface,
                Address = ip.Address.ToString(),
                Gateway = ip.Gateway?.ToString(),
            })],
            Routes = result.Routes.Count == 0 ? null : [.. result.Routes.Select(r => new RouteDto
            {
                Dst = r.Destination.ToString(),
                Gw = r.Gateway?.ToString(),
                Mtu = r.Mtu,
                AdvMss = r.AdvMss,
                Priority = r.Priority,
                Table = r.Table,
                Scope = r.Scope,
            })],
            Dns = ToDnsDto(result.Dns),
        };
    }

    private static CniResult FromDto(ResultDto dto, string version, ResultShape shape)
    {
        var interfaces = new List<CniInterface>(dto.Interfaces?.Count ?? 0);
        for (var i = 0; i < (dto.Interfaces?.Count ?? 0); i++)
        {
            var item = dto.Interfaces![i] ?? throw Invalid($"interfaces[{i}] is null");
            if (string.IsNullOrEmpty(item.Name))
            {
                throw Invalid($"interfaces[{i}].name is missing");
            }

            if (item.Mtu is < 0)
            {
                throw Invalid($"interfaces[{i}].mtu {item.Mtu} is negative");
            }

            interfaces.Add(new CniInterface(item.Name)
            {
                Mac = item.Mac,
                Sandbox = item.Sandbox,
                Mtu = item.Mtu,
                SocketPath = item.SocketPath,
                PciId = item.PciId,
            });
        }

        var ips = new List<CniIPConfig>(dto.Ips?.Count ?? 0);
        for (var i = 0; i < (dto.Ips?.Count ?? 0); i++)
        {
            var item = dto.Ips![i] ?? throw Invalid($"ips[{i}] is null");
            var address = ParseAddress(item.Address, $"ips[{i}].address");
            if (shape == ResultShape.Versioned && item.Version is not null)
            {
                var expected = address.IsIPv4 ? "4" : "6";
                if (item.Version is not ("4" or "6"))
                {
                    throw Invalid($"ips[{i}].version \"{item.Version}\" is not \"4\" or \"6\"");
                }

                if (item.Version != expected)
                {
                    throw Invalid($"ips[{i}].version \"{item.Version}\" does not match address {item.Address}");
                }
            }

            if (item.Interface is { } index && (index < 0 || index >= interfaces.Count))
            {
                throw Invalid($"ips[{i}].interface {index} does not index one of the {interfaces.Count} interfaces");
            }

            ips.Add(new CniIPConfig(address)
            {
                Gateway = ParseGateway(item.Gateway, address.Family, $"ips[{i}].gateway"),
                Interface = item.Interface,
            });
        }

        var routes = new List<CniRoute>(dto.Routes?.Count ?? 0);
        for (var i = 0; i < (dto.Routes?.Count ?? 0); i++)
        {
            var item = dto.Routes![i] ?? throw Invalid($"routes[{i}] is null");
            var dst = ParseAddress(item.Dst, $"routes[{i}].dst");
            routes.Add(new CniRoute(dst)
            {
                Gateway = ParseGateway(item.Gw, dst.Family, $"routes[{i}].gw"),
                Mtu = item.Mtu,
                AdvMss = item.AdvMss,
                Priority = item.Priority,
                Table = item.Table,
                Scope = item.Scope,
            });
        }

        return new CniResult { CniVersion = version, Interfaces = interfaces, Ips = ips, Routes = routes, Dns = FromDnsDto(dto.Dns) };
    }

    private static LegacyResultDto ToLegacyDto(CniResult result)
    {
        var ip4 = result.Ips.FirstOrDefault(ip => ip.Address.IsIPv4);
        var ip6 = result.Ips.FirstOrDefault(ip => !ip.Address.IsIPv4);
        return new LegacyResultDto
        {
            CniVersion = result.CniVersion,
            IP4 = ip4 is null ? null : ToLegacyIP(ip4, result.Routes.Where(r => r.Destination.IsIPv4)),
            IP6 = ip6 is null ? null : ToLegacyIP(ip6, result.Routes.Where(r => !r.Destination.IsIPv4)),
            Dns = ToDnsDto(result.Dns),
        };

        static LegacyIPDto ToLegacyIP(CniIPConfig ip, IEnumerable<CniRoute> routes)
        {
            List<LegacyRouteDto> list = [.. routes.Select(r => new LegacyRouteDto { Dst = r.Destination.ToString(), Gw = r.Gateway?.ToString() })];
            return new LegacyIPDto { IP = ip.Address.ToString(), Gateway = ip.Gateway?.ToString(), Routes = list.Count == 0 ? null : list };
        }
    }

    private static CniResult FromLegacyDto(LegacyResultDto dto, string version)
    {
        var ips = new List<CniIPConfig>(2);
        var routes = new List<CniRoute>();
        Add(dto.IP4, "ip4", AddressFamily.InterNetwork);
        Add(dto.IP6, "ip6", AddressFamily.InterNetworkV6);
        return new CniResult { CniVersion = version, Ips = ips, Routes = routes, Dns = FromDnsDto(dto.Dns) };

        void Add(LegacyIPDto? ip, string name, AddressFamily family)
        {
            if (ip is null)
            {
                return;
            }

            var address = ParseAddress(ip.IP, $"{name}.ip");
            if (address.Family != family)
            {
                throw Invalid($"{name}.ip {ip.IP} is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
            }

            ips.Add(new CniIPConfig(address) { Gateway = ParseGateway(ip.Gateway, family, $"{name}.gateway") });
            for (var i = 0; i < (ip.Routes?.Count ?? 0); i++)
            {
                var route = ip.Routes![i] ?? throw Invalid($"{name}.routes[{i}] is null");
                var dst = ParseAddress(route.Dst, $"{name}.routes[{i}].dst");
                routes.Add(new CniRoute(dst) { Gateway = ParseGateway(route.Gw, dst.Family, $"{name}.routes[{i}].gw") });
            }
        }
    }

    private static IPAddressAndPrefix ParseAddress(string? text, string field)
    {
        if (text is null)
        {
            throw Invalid($"{field} is missing");
        }

        return IPAddressAndPrefix.TryParse(text, out var value) ? value : throw Invalid($"{field} \"{text}\" is not an address/prefix");
    }

    private static IPAddress? ParseGateway(string? text, AddressFamily family, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!IPAddress.TryParse(text, out var address) || text.Contains('/', StringComparison.Ordinal))
        {
            throw Invalid($"{field} \"{text}\" is not an IP address");
        }

        return address.AddressFamily == family ? address : throw Invalid($"{field} {text} is not in the address family of its address");
    }

    private static CniException Invalid(string details) => new(CniErrorCode.DecodingFailure, "failed to decode result", details);
}
