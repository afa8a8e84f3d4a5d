using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;

namespace VpcCni.Ipam.Durable;

/// <summary>What a replay of the journals has built up: the live allocations, the releases, and the damage found.</summary>
internal sealed class JournalReplayState(Dictionary<AttachmentKey, AllocationRecord> allocations, List<string> problems, List<(PodAddress, long)> releases)
{
    public Dictionary<AttachmentKey, AllocationRecord> Allocations { get; } = allocations;

    public List<string> Problems { get; } = problems;

    public List<(PodAddress Address, long ReleasedAtUnixNanoseconds)> Releases { get; } = releases;
}

/// <summary>
/// Replays a journal (one record per line: CRC-32 in hex, a space, compact JSON, '\n') read through a
/// <see cref="PipeReader"/>, so a journal is parsed as it streams in instead of being loaded whole, and a record may
/// arrive split across any number of reads and buffer segments. Damage is reported, never thrown: a line without its
/// '\n' at the end is a torn write (ignored), a malformed line, a checksum mismatch, invalid JSON or an unknown
/// operation is skipped and the replay goes on with the next line.
/// </summary>
internal static class JournalReplay
{
    /// <summary>Largest line copied to the stack when it spans segments; longer ones are rented.</summary>
    private const int StackLineLimit = 512;

    /// <summary>Reads the journal at <paramref name="path"/> (if it exists) into <paramref name="state"/>.</summary>
    public static async ValueTask ReplayFileAsync(string path, JournalReplayState state, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(file, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
            await ReplayAsync(reader, path, state, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Applies every record <paramref name="reader"/> yields, in order; completes the reader.</summary>
    /// <param name="path">Names the journal in problem reports.</param>
    public static async ValueTask ReplayAsync(PipeReader reader, string path, JournalReplayState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(state);
        var lineNo = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                while (TryReadLine(ref buffer, out var line))
                {
                    lineNo++;
                    Apply(line, lineNo, path, state);
                }

                if (read.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        state.Problems.Add($"journal {path}: line {lineNo + 1} is truncated (torn write at crash); ignored.");
                    }

                    reader.AdvanceTo(buffer.End);
                    break;
                }

                // Whole lines are consumed; the start of an unfinished one stays buffered until the rest arrives.
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadTo(out line, (byte)'\n'))
        {
            buffer = buffer.Slice(reader.Position);
            return true;
        }

        return false;
    }

    private static void Apply(ReadOnlySequence<byte> line, int lineNo, string path, JournalReplayState state)
    {
        if (line.IsSingleSegment)
        {
            Apply(line.FirstSpan, lineNo, path, state);
            return;
        }

        // A line split across segments is made contiguous: the checksum and the JSON reader want one span.
        var length = checked((int)line.Length);
        byte[]? rented = null;
        Span<byte> copy = length <= StackLineLimit ? stackalloc byte[StackLineLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            line.CopyTo(copy);
            Apply(copy[..length], lineNo, path, state);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void Apply(ReadOnlySpan<byte> line, int lineNo, string path, JournalReplayState state)
    {
        if (line.Length < 10 || line[8] != (byte)' ' || !uint.TryParse(line[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var crc))
        {
            state.Problems.Add($"journal {path}: line {lineNo} is malformed; skipped.");
            return;
        }

        var json = line[9..];
        if (Crc32.Compute(json) != crc)
        {
            state.Problems.Add($"journal {path}: line {lineNo} fails its checksum (corrupt); skipped.");
            return;
        }

        JournalEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(json, DurableJsonContext.Default.JournalEntry);
        }
        catch (JsonException)
        {
            state.Problems.Add($"journal {path}: line {lineNo} is not valid JSON; skipped.");
            return;
        }

        if (entry is null)
        {
            return;
        }

        var key = new AttachmentKey(entry.NetworkName, entry.ContainerId, entry.IfName);
        if (entry.Op == "u")
        {
            state.Allocations.Remove(key);
            if (entry.Timestamp != 0 && System.Net.IPAddress.TryParse(entry.IPv4, out var released))
            {
                state.Releases.Add((PodAddress.From(released), entry.Timestamp));
            }
        }
        else if (entry.Op == "a" && System.Net.IPAddress.TryParse(entry.IPv4, out var ip))
        {
            state.Allocations[key] = new AllocationRecord(key, PodAddress.From(ip), entry.Timestamp, new PodMetadata(entry.Namespace, entry.PodName, entry.InterfacesCount));
        }
        else
        {
            state.Problems.Add($"journal {path}: line {lineNo} has an unknown operation '{entry.Op}'; skipped.");
        }
    }
}
