namespace VpcCni.Cni;

// A result as its JSON says it, every field type-checked but nothing else validated yet: the whole document is
// type-checked before any field's meaning is (the order in which errors are reported).
internal sealed class ResultWire
{
    public List<InterfaceWire?>? Interfaces { get; set; }

    public List<IPConfigWire?>? Ips { get; set; }

    public List<RouteWire?>? Routes { get; set; }

    public CniDns? Dns { get; set; }
}

internal sealed class InterfaceWire
{
    public string? Name { get; set; }

    public string? Mac { get; set; }

    public int? Mtu { get; set; }

    public string? Sandbox { get; set; }

    public string? SocketPath { get; set; }

    public string? PciId { get; set; }
}

internal sealed class IPConfigWire
{
    public string? Version { get; set; }

    public int? Interface { get; set; }

    public string? Address { get; set; }

    public string? Gateway { get; set; }
}

internal sealed class RouteWire
{
    public string? Dst { get; set; }

    public string? Gw { get; set; }

    public int? Mtu { get; set; }

    public int? AdvMss { get; set; }

    public int? Priority { get; set; }

    public int? Table { get; set; }

    public int? Scope { get; set; }
}

/// <summary>0.1.0/0.2.0: "ip4" and "ip6".</summary>
internal sealed class LegacyResultWire
{
    public LegacyIPWire? IP4 { get; set; }

    public LegacyIPWire? IP6 { get; set; }

    public CniDns? Dns { get; set; }
}

internal sealed class LegacyIPWire
{
    public string? IP { get; set; }

    public string? Gateway { get; set; }

    public List<LegacyRouteWire?>? Routes { get; set; }
}

internal sealed class LegacyRouteWire
{
    public string? Dst { get; set; }

    public string? Gw { get; set; }
}
