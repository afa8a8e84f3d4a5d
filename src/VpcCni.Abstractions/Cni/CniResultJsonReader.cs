using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>
/// Reads a result in the shape its "cniVersion" names. In order: the JSON syntax, "cniVersion", every known field's
/// type, then the fields' meaning; unknown keys (including another shape's) are ignored, a repeated key's last value
/// wins. All failures are code 6 "failed to decode result" except an invalid version string.
/// </summary>
internal static class CniResultJsonReader
{
    private const string What = "result";

    public static CniResult Read(ReadOnlySpan<byte> json, string defaultVersion)
    {
        using var document = CniJsonValue.ParseObjectDocument(json, What);
        return Read(document.RootElement, defaultVersion);
    }

    /// <summary>Reads a result object that is part of a larger document (a configuration's prevResult).</summary>
    public static CniResult Read(JsonElement obj, string defaultVersion)
    {
        var version = CniJsonValue.ReadCniVersion(obj, What) ?? defaultVersion;
        CniVersion.ParseOrThrow(version);
        var shape = CniVersion.ShapeOf(version);
        return shape == ResultShape.Legacy
            ? FromWire(ReadLegacyWire(obj), version)
            : FromWire(ReadWire(obj), version, shape);
    }

    private static ResultWire ReadWire(JsonElement obj)
    {
        var wire = new ResultWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("interfaces"u8))
            {
                wire.Interfaces = CniJsonValue.ReadObjectList(value, What, "interfaces", ReadInterface);
            }
            else if (property.NameEquals("ips"u8))
            {
                wire.Ips = CniJsonValue.ReadObjectList(value, What, "ips", ReadIPConfig);
            }
            else if (property.NameEquals("routes"u8))
            {
                wire.Routes = CniJsonValue.ReadObjectList(value, What, "routes", ReadRoute);
            }
            else if (property.NameEquals("dns"u8))
            {
                wire.Dns = CniDnsJson.Read(value, What, "dns");
            }
        }

        return wire;
    }

    private static InterfaceWire ReadInterface(JsonElement obj, string what, string path)
    {
        var wire = new InterfaceWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("name"u8))
            {
                wire.Name = CniJsonValue.ReadString(value, what, $"{path}.name");
            }
            else if (property.NameEquals("mac"u8))
            {
                wire.Mac = CniJsonValue.ReadString(value, what, $"{path}.mac");
            }
            else if (property.NameEquals("mtu"u8))
            {
                wire.Mtu = CniJsonValue.ReadInt32(value, what, $"{path}.mtu");
            }
            else if (property.NameEquals("sandbox"u8))
            {
                wire.Sandbox = CniJsonValue.ReadString(value, what, $"{path}.sandbox");
            }
            else if (property.NameEquals("socketPath"u8))
            {
                wire.SocketPath = CniJsonValue.ReadString(value, what, $"{path}.socketPath");
            }
            else if (property.NameEquals("pciID"u8))
            {
                wire.PciId = CniJsonValue.ReadString(value, what, $"{path}.pciID");
            }
        }

        return wire;
    }

    private static IPConfigWire ReadIPConfig(JsonElement obj, string what, string path)
    {
        var wire = new IPConfigWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("version"u8))
            {
                wire.Version = CniJsonValue.ReadString(value, what, $"{path}.version");
            }
            else if (property.NameEquals("interface"u8))
            {
                wire.Interface = CniJsonValue.ReadInt32(value, what, $"{path}.interface");
            }
            else if (property.NameEquals("address"u8))
            {
                wire.Address = CniJsonValue.ReadString(value, what, $"{path}.address");
            }
            else if (property.NameEquals("gateway"u8))
            {
                wire.Gateway = CniJsonValue.ReadString(value, what, $"{path}.gateway");
            }
        }

        return wire;
    }

    private static RouteWire ReadRoute(JsonElement obj, string what, string path)
    {
        var wire = new RouteWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("dst"u8))
            {
                wire.Dst = CniJsonValue.ReadString(value, what, $"{path}.dst");
            }
            else if (property.NameEquals("gw"u8))
            {
                wire.Gw = CniJsonValue.ReadString(value, what, $"{path}.gw");
            }
            else if (property.NameEquals("mtu"u8))
            {
                wire.Mtu = CniJsonValue.ReadInt32(value, what, $"{path}.mtu");
            }
            else if (property.NameEquals("advmss"u8))
            {
                wire.AdvMss = CniJsonValue.ReadInt32(value, what, $"{path}.advmss");
            }
            else if (property.NameEquals("priority"u8))
            {
                wire.Priority = CniJsonValue.ReadInt32(value, what, $"{path}.priority");
            }
            else if (property.NameEquals("table"u8))
            {
                wire.Table = CniJsonValue.ReadInt32(value, what, $"{path}.table");
            }
            else if (property.NameEquals("scope"u8))
            {
                wire.Scope = CniJsonValue.ReadInt32(value, what, $"{path}.scope");
            }
        }

        return wire;
    }

    private static LegacyResultWire ReadLegacyWire(JsonElement obj)
    {
        var wire = new LegacyResultWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("ip4"u8))
            {
                wire.IP4 = CniJsonValue.IsObject(value, What, "ip4") ? ReadLegacyIP(value, "ip4") : null;
            }
            else if (property.NameEquals("ip6"u8))
            {
                wire.IP6 = CniJsonValue.IsObject(value, What, "ip6") ? ReadLegacyIP(value, "ip6") : null;
            }
            else if (property.NameEquals("dns"u8))
            {
                wire.Dns = CniDnsJson.Read(value, What, "dns");
            }
        }

        return wire;
    }

    private static LegacyIPWire ReadLegacyIP(JsonElement obj, string path)
    {
        var wire = new LegacyIPWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("ip"u8))
            {
                wire.IP = CniJsonValue.ReadString(value, What, $"{path}.ip");
            }
            else if (property.NameEquals("gateway"u8))
            {
                wire.Gateway = CniJsonValue.ReadString(value, What, $"{path}.gateway");
            }
            else if (property.NameEquals("routes"u8))
            {
                wire.Routes = CniJsonValue.ReadObjectList(value, What, $"{path}.routes", ReadLegacyRoute);
            }
        }

        return wire;
    }

    private static LegacyRouteWire ReadLegacyRoute(JsonElement obj, string what, string path)
    {
        var wire = new LegacyRouteWire();
        foreach (var property in obj.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("dst"u8))
            {
                wire.Dst = CniJsonValue.ReadString(value, what, $"{path}.dst");
            }
            else if (property.NameEquals("gw"u8))
            {
                wire.Gw = CniJsonValue.ReadString(value, what, $"{path}.gw");
            }
        }

        return wire;
    }

    private static CniResult FromWire(ResultWire wire, string version, ResultShape shape)
    {
        var interfaces = new List<CniInterface>(wire.Interfaces?.Count ?? 0);
        for (var i = 0; i < (wire.Interfaces?.Count ?? 0); i++)
        {
            var item = wire.Interfaces![i] ?? throw Invalid($"interfaces[{i}] is null");
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

        var ips = new List<CniIPConfig>(wire.Ips?.Count ?? 0);
        for (var i = 0; i < (wire.Ips?.Count ?? 0); i++)
        {
            var item = wire.Ips![i] ?? throw Invalid($"ips[{i}] is null");
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

        var routes = new List<CniRoute>(wire.Routes?.Count ?? 0);
        for (var i = 0; i < (wire.Routes?.Count ?? 0); i++)
        {
            var item = wire.Routes![i] ?? throw Invalid($"routes[{i}] is null");
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

        return new CniResult { CniVersion = version, Interfaces = interfaces, Ips = ips, Routes = routes, Dns = wire.Dns };
    }

    private static CniResult FromWire(LegacyResultWire wire, string version)
    {
        var ips = new List<CniIPConfig>(2);
        var routes = new List<CniRoute>();
        Add(wire.IP4, "ip4", AddressFamily.InterNetwork);
        Add(wire.IP6, "ip6", AddressFamily.InterNetworkV6);
        return new CniResult { CniVersion = version, Ips = ips, Routes = routes, Dns = wire.Dns };

        void Add(LegacyIPWire? ip, string name, AddressFamily family)
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

    private static CniException Invalid(string details) => CniJsonValue.Failed(What, details);
}
