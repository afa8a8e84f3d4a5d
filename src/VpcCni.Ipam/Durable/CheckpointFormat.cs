using System.Text.Json;
using System.Text.Json.Serialization;

namespace VpcCni.Ipam.Durable;

/// <summary>Upstream's checkpoint document (<c>vpc-cni-ipam/1</c>, reference §3.4).</summary>
internal sealed class CheckpointDocument
{
    public const string CurrentVersion = "vpc-cni-ipam/1";

    [JsonPropertyName("version")]
    [JsonPropertyOrder(0)]
    public string? Version { get; set; }

    [JsonPropertyName("allocations")]
    [JsonPropertyOrder(1)]
    public List<CheckpointAllocation>? Allocations { get; set; }
}

/// <summary>One allocation, in upstream's field order.</summary>
internal sealed class CheckpointAllocation
{
    [JsonPropertyName("networkName")]
    [JsonPropertyOrder(0)]
    public string NetworkName { get; set; } = "";

    [JsonPropertyName("containerID")]
    [JsonPropertyOrder(1)]
    public string ContainerId { get; set; } = "";

    [JsonPropertyName("ifName")]
    [JsonPropertyOrder(2)]
    public string IfName { get; set; } = "";

    [JsonPropertyName("ipv4")]
    [JsonPropertyOrder(3)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IPv4 { get; set; }

    [JsonPropertyName("ipv6")]
    [JsonPropertyOrder(4)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IPv6 { get; set; }

    [JsonPropertyName("allocationTimestamp")]
    [JsonPropertyOrder(5)]
    public long AllocationTimestamp { get; set; }

    [JsonPropertyName("metadata")]
    [JsonPropertyOrder(6)]
    public CheckpointMetadata Metadata { get; set; } = new();
}

/// <summary>Pod metadata; each field omitted when empty/zero, as upstream's omitempty.</summary>
internal sealed class CheckpointMetadata
{
    [JsonPropertyName("k8sPodNamespace")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? K8sPodNamespace { get; set; }

    [JsonPropertyName("k8sPodName")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? K8sPodName { get; set; }

    [JsonPropertyName("interfacesCount")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int InterfacesCount { get; set; }
}

/// <summary>One journal record: an assign ("a") or an unassign ("u") of a key.</summary>
internal sealed class JournalEntry
{
    [JsonPropertyName("op")]
    public string Op { get; set; } = "";

    [JsonPropertyName("n")]
    public string NetworkName { get; set; } = "";

    [JsonPropertyName("c")]
    public string ContainerId { get; set; } = "";

    [JsonPropertyName("i")]
    public string IfName { get; set; } = "";

    [JsonPropertyName("ip")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IPv4 { get; set; }

    [JsonPropertyName("ts")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Timestamp { get; set; }

    [JsonPropertyName("ns")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Namespace { get; set; }

    [JsonPropertyName("pod")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PodName { get; set; }

    [JsonPropertyName("ifc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int InterfacesCount { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(CheckpointDocument))]
[JsonSerializable(typeof(JournalEntry))]
internal sealed partial class DurableJsonContext : JsonSerializerContext;

/// <summary>Converts between datastore records and the on-disk shapes.</summary>
internal static class CheckpointCodec
{
    public static byte[] WriteCheckpoint(IEnumerable<AllocationRecord> allocations)
    {
        var doc = new CheckpointDocument { Version = CheckpointDocument.CurrentVersion, Allocations = [] };
        foreach (var a in allocations)
        {
            doc.Allocations.Add(new CheckpointAllocation
            {
                NetworkName = a.Key.NetworkName,
                ContainerId = a.Key.ContainerId,
                IfName = a.Key.IfName,
                IPv4 = a.Address.ToString(),
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
        return bytes;
    }

    /// <summary>Parses a checkpoint; throws <see cref="DurableRecordException"/> naming the problem.</summary>
    public static List<AllocationRecord> ReadCheckpoint(ReadOnlySpan<byte> bytes, string path, List<string> problems)
    {
        CheckpointDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(bytes, DurableJsonContext.Default.CheckpointDocument);
        }
        catch (JsonException ex)
        {
            throw new DurableRecordException($"checkpoint {path} is not valid JSON ({ex.Message}); it may be truncated or corrupt.", ex);
        }

        if (doc is null)
        {
            throw new DurableRecordException($"checkpoint {path} is empty.");
        }

        if (doc.Version != CheckpointDocument.CurrentVersion)
        {
            throw new DurableRecordException($"failed ipam state recovery due to unexpected checkpointVersion: {doc.Version}/{CheckpointDocument.CurrentVersion} (file {path}).");
        }

        var list = new List<AllocationRecord>();
        foreach (var a in doc.Allocations ?? [])
        {
            if (a.IPv4 is null)
            {
                problems.Add($"checkpoint {path}: allocation {a.NetworkName}/{a.ContainerId}/{a.IfName} has no IPv4 address (IPv6 is not managed here); kept out of the IPv4 pool.");
                continue;
            }

            if (!System.Net.IPAddress.TryParse(a.IPv4, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                problems.Add($"checkpoint {path}: allocation {a.NetworkName}/{a.ContainerId}/{a.IfName} has an invalid IPv4 '{a.IPv4}'; skipped.");
                continue;
            }

            list.Add(new AllocationRecord(
                new AttachmentKey(a.NetworkName, a.ContainerId, a.IfName),
                PodAddress.From(ip),
                a.AllocationTimestamp,
                new PodMetadata(a.Metadata?.K8sPodNamespace, a.Metadata?.K8sPodName, a.Metadata?.InterfacesCount ?? 0)));
        }

        return list;
    }

    public static byte[] WriteJournalLine(JournalEntry entry)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(entry, DurableJsonContext.Default.JournalEntry);
        var line = new byte[9 + json.Length + 1];
        var crc = Crc32.Compute(json);
        System.Text.Encoding.ASCII.GetBytes(crc.ToString("x8"), line);
        line[8] = (byte)' ';
        json.CopyTo(line, 9);
        line[^1] = (byte)'\n';
        return line;
    }

    public static JournalEntry ToEntry(AllocationRecord r) => new()
    {
        Op = "a",
        NetworkName = r.Key.NetworkName,
        ContainerId = r.Key.ContainerId,
        IfName = r.Key.IfName,
        IPv4 = r.Address.ToString(),
        Timestamp = r.AllocatedAtUnixNanoseconds,
        Namespace = r.Metadata.Namespace,
        PodName = r.Metadata.Name,
        InterfacesCount = r.Metadata.InterfacesCount,
    };

    public static JournalEntry UnassignEntry(AttachmentKey key, PodAddress? address = null, long releasedAtUnixNs = 0) => new()
    {
        Op = "u",
        NetworkName = key.NetworkName,
        ContainerId = key.ContainerId,
        IfName = key.IfName,
        IPv4 = address?.ToString(),
        Timestamp = releasedAtUnixNs,
    };
}

/// <summary>Table-driven CRC-32 (IEEE), to detect torn or damaged journal lines.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}

/// <summary>The durable record could not be read; the message names the file and the problem.</summary>
public sealed class DurableRecordException(string message, Exception? inner = null) : IOException(message, inner);
