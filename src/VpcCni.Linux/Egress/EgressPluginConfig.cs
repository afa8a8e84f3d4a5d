using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using VpcCni.Cni;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Egress;

/// <summary>
/// The egress-cni conflist entry (upstream netconf, §1.6): <c>enabled</c>, <c>mtu</c>, <c>nodeIP</c>,
/// <c>randomizeSNAT</c>, <c>ipam</c>, <c>pluginLogFile</c>, <c>pluginLogLevel</c>. Parsing checks the keys' JSON types
/// (code 6); the values that matter only when the plugin is enabled are checked by <see cref="RequireMtu"/> and
/// <see cref="RequireNodeAddress"/> (code 7).
/// </summary>
public sealed record EgressPluginConfig
{
    /// <summary>Network name (the chain name and rule comment use it).</summary>
    public required string Name { get; init; }

    /// <summary>Only the string "true" enables the plugin; anything else makes it pass the previous result through.</summary>
    public bool Enabled { get; init; }

    /// <summary>The "mtu" value as written (upstream keeps it a string).</summary>
    public string? MtuText { get; init; }

    /// <summary>The "nodeIP" value as written.</summary>
    public string? NodeIPText { get; init; }

    public SnatRandomization Randomization { get; init; } = SnatRandomization.RandomFully;

    /// <summary>"ipam.type": the delegated IPAM plugin (host-local).</summary>
    public string? IpamType { get; init; }

    /// <summary>"ipam.routes[].dst": what the pod routes through the egress interface.</summary>
    public IReadOnlyList<IPNetwork> IpamRoutes { get; init; } = [];

    public string? PluginLogFile { get; init; }

    public string? PluginLogLevel { get; init; }

    /// <summary>Reads the plugin's keys from a request configuration.</summary>
    public static EgressPluginConfig Parse(NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var raw = config.Raw;
        var randomize = String(raw, "randomizeSNAT");
        return new EgressPluginConfig
        {
            Name = config.Name,
            Enabled = raw.TryGetProperty("enabled", out var enabled) && enabled.ValueKind switch
            {
                JsonValueKind.String => enabled.GetString() == "true",
                JsonValueKind.True => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                _ => throw WrongType("enabled", "a string"),
            },
            MtuText = Scalar(raw, "mtu"),
            NodeIPText = String(raw, "nodeIP"),
            Randomization = randomize switch
            {
                "none" => SnatRandomization.None,
                "hashrandom" => SnatRandomization.Random,
                _ => SnatRandomization.RandomFully, // "prng" and anything else, as upstream
            },
            IpamType = config.IpamType,
            IpamRoutes = config.Ipam is { } ipam ? Routes(ipam) : [],
            PluginLogFile = String(raw, "pluginLogFile"),
            PluginLogLevel = String(raw, "pluginLogLevel"),
        };
    }

    /// <summary>The MTU; code 7 unless "mtu" is an integer.</summary>
    public int RequireMtu() =>
        int.TryParse(MtuText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var mtu) && mtu > 0
            ? mtu
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid mtu", $"\"mtu\" must be a positive integer, found \"{MtuText}\"");

    /// <summary>
    /// The SNAT source; code 7 unless "nodeIP" is an IPv4 address or a global unicast IPv6 address (upstream: "global
    /// unicast IPv6 not found in host primary interface which is mandatory to support IPv6 egress").
    /// </summary>
    public IPAddress RequireNodeAddress()
    {
        if (!IPAddress.TryParse(NodeIPText, out var address) || NodeIPText.Contains('/', StringComparison.Ordinal) || NodeIPText.Contains('%', StringComparison.Ordinal))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid nodeIP", $"\"nodeIP\" must be the node's IPv4 or global unicast IPv6 address, found \"{NodeIPText}\"");
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (!IsGlobalUnicast(address))
        {
            throw new CniException(
                CniErrorCode.InvalidNetworkConfig,
                address.AddressFamily == AddressFamily.InterNetworkV6 ? "global unicast IPv6 not found in host primary interface which is mandatory to support IPv6 egress" : "invalid nodeIP",
                $"\"nodeIP\" {address} is not a unicast address the node can SNAT to");
        }

        return address;
    }

    /// <summary>The node address when it is valid, else null (DEL tears down both flavours then).</summary>
    public IPAddress? TryGetNodeAddress()
    {
        try
        {
            return RequireNodeAddress();
        }
        catch (CniException)
        {
            return null;
        }
    }

    /// <summary>Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast.</summary>
    internal static bool IsGlobalUnicast(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return !address.IsIPv6Multicast && !address.IsIPv6LinkLocal;
        }

        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return bytes[0] < 224 && !(bytes[0] == 169 && bytes[1] == 254);
    }

    private static List<IPNetwork> Routes(JsonElement ipam)
    {
        if (!ipam.TryGetProperty("routes", out var routes) || routes.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (routes.ValueKind != JsonValueKind.Array)
        {
            throw WrongType("ipam.routes", "an array");
        }

        var list = new List<IPNetwork>();
        foreach (var route in routes.EnumerateArray())
        {
            var dst = route.ValueKind == JsonValueKind.Object ? String(route, "dst") : throw WrongType("ipam.routes[]", "an object");
            if (!IPNetwork.TryParse(dst, out var network))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid ipam route", $"\"ipam.routes[].dst\" must be a CIDR, found \"{dst}\"");
            }

            list.Add(network);
        }

        return list;
    }

    private static string? String(JsonElement obj, string key) =>
        !obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw WrongType(key, "a string");

    /// <summary>A string, or a number kept as its JSON text (upstream's mtu is a string; a number is accepted too).</summary>
    private static string? Scalar(JsonElement obj, string key) =>
        obj.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : String(obj, key);

    private static CniException WrongType(string key, string expected) =>
        new(CniErrorCode.DecodingFailure, "failed to decode network configuration", $"\"{key}\" must be {expected}");
}
