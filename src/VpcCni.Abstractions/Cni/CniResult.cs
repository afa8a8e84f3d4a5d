namespace VpcCni.Cni;

/// <summary>
/// An ADD result in a version-independent form (the 1.1.0 superset). <see cref="CniVersion"/> decides the JSON
/// shape it is written in; <see cref="ConvertTo"/> applies the spec's conversion rules between versions.
/// </summary>
public sealed record CniResult
{
    public required string CniVersion { get; init; }

    public IReadOnlyList<CniInterface> Interfaces { get; init; } = [];

    public IReadOnlyList<CniIPConfig> Ips { get; init; } = [];

    public IReadOnlyList<CniRoute> Routes { get; init; } = [];

    public CniDns? Dns { get; init; }

    /// <summary>
    /// Parses a result in whatever version its "cniVersion" says; a result without one is read as
    /// <paramref name="defaultVersion"/> (the config's version for a plugin's own output, 0.1.0 for arbitrary JSON).
    /// Malformed input is a <see cref="CniException"/> with code 6 (code 1 for an unsupported version).
    /// </summary>
    public static CniResult Parse(ReadOnlySpan<byte> json, string defaultVersion = VpcCni.Cni.CniVersion.V0_1_0) =>
        CniResultJsonReader.Read(json, defaultVersion);

    /// <summary>The result as JSON in the shape of its own <see cref="CniVersion"/>.</summary>
    public byte[] ToJsonUtf8() => CniResultJsonWriter.Write(this);

    /// <summary>The result in another version's terms (lossless where the target can hold it).</summary>
    public CniResult ConvertTo(string targetVersion) => CniResultConverter.Convert(this, targetVersion);
}

/// <summary>An interface the attachment created; host-side interfaces have no <see cref="Sandbox"/>.</summary>
public sealed record CniInterface(string Name)
{
    public string? Mac { get; init; }

    /// <summary>The container's netns path for container-side interfaces.</summary>
    public string? Sandbox { get; init; }

    /// <summary>1.1.0.</summary>
    public int? Mtu { get; init; }

    /// <summary>1.1.0: absolute path of a socket for vhost-user style interfaces.</summary>
    public string? SocketPath { get; init; }

    /// <summary>1.1.0: PCI id of a device-backed interface.</summary>
    public string? PciId { get; init; }
}

/// <summary>An address assigned to an interface.</summary>
/// <param name="Address">The address with its prefix length.</param>
public sealed record CniIPConfig(IPAddressAndPrefix Address)
{
    public System.Net.IPAddress? Gateway { get; init; }

    /// <summary>Index into <see cref="CniResult.Interfaces"/>; absent in IPAM results.</summary>
    public int? Interface { get; init; }
}

/// <summary>A route; 1.1.0 adds the optional tuning fields.</summary>
public sealed record CniRoute(IPAddressAndPrefix Destination)
{
    public System.Net.IPAddress? Gateway { get; init; }

    public int? Mtu { get; init; }

    public int? AdvMss { get; init; }

    /// <summary>Lower is preferred.</summary>
    public int? Priority { get; init; }

    public int? Table { get; init; }

    /// <summary>0 global, 253 link, 254 host.</summary>
    public int? Scope { get; init; }
}

/// <summary>DNS settings.</summary>
public sealed record CniDns
{
    public IReadOnlyList<string>? Nameservers { get; init; }

    public string? Domain { get; init; }

    public IReadOnlyList<string>? Search { get; init; }

    public IReadOnlyList<string>? Options { get; init; }
}
