using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace VpcCni.Ipam.Durable;

/// <summary>
/// The checkpoint of an IPv6 cluster: upstream's <c>vpc-cni-ipam/1</c> document with <c>ipv6</c> allocations, rewritten
/// whole (temp file, fsync, rename) on every assign and release, as upstream does. No journal: an IPv6 node has no pool
/// churn to amortise.
/// </summary>
internal static class IPv6Checkpoint
{
    /// <summary>Writes every allocation atomically.</summary>
    public static void Write(string path, IEnumerable<IPv6Allocation> allocations)
    {
        var doc = new CheckpointDocument { Version = CheckpointDocument.CurrentVersion, Allocations = [] };
        foreach (var a in allocations)
        {
            doc.Allocations.Add(new CheckpointAllocation
            {
                NetworkName = a.Key.NetworkName,
                ContainerId = a.Key.ContainerId,
                IfName = a.Key.IfName,
                IPv6 = a.Address.ToString(),
                AllocationTimestamp = a.AllocatedAtUnixNanoseconds,
                Metadata = new CheckpointMetadata
                {
                    K8sPodNamespace = string.IsNullOrEmpty(a.Metadata.Namespace) ? null : a.Metadata.Namespace,
                    K8sPodName = string.IsNullOrEmpty(a.Metadata.Name) ? null : a.Metadata.Name,
                    InterfacesCount = a.Metadata.InterfacesCount,
                },
            });
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(doc, DurableJsonContext.Default.CheckpointDocument);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        DurableAllocationStore.AtomicWrite(path, bytes);
    }

    /// <summary>
    /// Reads the IPv6 allocations of a checkpoint; an absent file is a fresh node (empty). Invalid JSON or another version
    /// throws <see cref="DurableRecordException"/> (upstream fails init); IPv4 or unparsable entries go to <paramref name="problems"/>.
    /// </summary>
    public static List<(AttachmentKey Key, IPAddress Address, long AllocatedAt, PodMetadata Metadata)> Read(string path, List<string> problems)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        CheckpointDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(File.ReadAllBytes(path), DurableJsonContext.Default.CheckpointDocument);
        }
        catch (JsonException ex)
        {
            throw new DurableRecordException($"checkpoint {path} is not valid JSON ({ex.Message}); it may be truncated or corrupt.", ex);
        }

        if (doc is null || doc.Version != CheckpointDocument.CurrentVersion)
        {
            throw new DurableRecordException($"failed ipam state recovery due to unexpected checkpointVersion: {doc?.Version}/{CheckpointDocument.CurrentVersion} (file {path}).");
        }

        var list = new List<(AttachmentKey, IPAddress, long, PodMetadata)>();
        foreach (var a in doc.Allocations ?? [])
        {
            if (a.IPv6 is null || !IPAddress.TryParse(a.IPv6, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            {
                problems.Add($"checkpoint {path}: allocation {a.NetworkName}/{a.ContainerId}/{a.IfName} has no valid IPv6 address ({a.IPv4 ?? a.IPv6 ?? "none"}); not an IPv6 allocation, dropped.");
                continue;
            }

            list.Add((new AttachmentKey(a.NetworkName, a.ContainerId, a.IfName), ip, a.AllocationTimestamp,
                new PodMetadata(a.Metadata?.K8sPodNamespace, a.Metadata?.K8sPodName, a.Metadata?.InterfacesCount ?? 0)));
        }

        return list;
    }
}
