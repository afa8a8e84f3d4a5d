using System.Globalization;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// What the fleet order keeps of a Node: its name and creation time (both immutable for the object's life, so a
/// node's updates never move it). Created is <see cref="DateTimeOffset.MinValue"/> when the server sent none that
/// parses; every node reads the same list, so such a node still sorts the same way everywhere.
/// </summary>
internal sealed record ClusterNode(string Name, DateTimeOffset Created)
{
    public static ClusterNode? From(WireNodeMetadata node) =>
        node.Metadata?.Name is { Length: > 0 } name ? new ClusterNode(name, Parse(node.Metadata.CreationTimestamp)) : null;

    /// <summary>The fleet order: creation time ascending, then name (ordinal).</summary>
    public static int Compare(ClusterNode a, ClusterNode b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var byTime = a.Created.UtcTicks.CompareTo(b.Created.UtcTicks);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Name, b.Name);
    }

    /// <summary>meta/v1 Time (RFC 3339, "2026-01-01T00:00:00Z"); anything else is <see cref="DateTimeOffset.MinValue"/>.</summary>
    internal static DateTimeOffset Parse(string? timestamp) =>
        DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var created)
            ? created
            : DateTimeOffset.MinValue;
}
