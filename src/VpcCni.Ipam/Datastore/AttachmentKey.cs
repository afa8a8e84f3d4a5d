using System.Net;
using System.Net.Sockets;

namespace VpcCni.Ipam;

/// <summary>
/// The CNI attachment key that owns a pod address: the conflist network name, CNI_CONTAINERID and CNI_IFNAME.
/// Upstream calls it the IPAM key; its string form is <c>network/container/ifname</c>.
/// </summary>
public readonly record struct AttachmentKey(string NetworkName, string ContainerId, string IfName)
{
    /// <summary>The placeholder key upstream used for allocations migrated from CRI; a DEL falls back to it.</summary>
    internal AttachmentKey ToCriMigrationKey() => new("_migrated-from-cri", ContainerId, "unknown");

    /// <inheritdoc />
    public override string ToString() => $"{NetworkName}/{ContainerId}/{IfName}";
}

/// <summary>What the runtime told us about the pod that owns an address.</summary>
/// <param name="Namespace">Kubernetes namespace (K8S_POD_NAMESPACE), when known.</param>
/// <param name="Name">Kubernetes pod name (K8S_POD_NAME), when known.</param>
/// <param name="InterfacesCount">How many addresses the pod was given (1, or one per card for multi-homed pods).</param>
public sealed record PodMetadata(string? Namespace, string? Name, int InterfacesCount = 1)
{
    /// <summary>Metadata for an allocation whose pod is unknown (old checkpoints).</summary>
    public static PodMetadata None { get; } = new(null, null, 0);
}

/// <summary>An IPv4 address as a host-order integer, so the hot path never allocates an <see cref="IPAddress"/>.</summary>
public readonly record struct PodAddress(uint Value)
{
    /// <summary>Converts to a BCL address (allocates).</summary>
    public IPAddress ToIPAddress() => new([(byte)(Value >> 24), (byte)(Value >> 16), (byte)(Value >> 8), (byte)Value]);

    /// <summary>Parses an IPv4 address.</summary>
    public static PodAddress From(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"'{address}' is not an IPv4 address.", nameof(address));
        }

        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return new PodAddress((uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
