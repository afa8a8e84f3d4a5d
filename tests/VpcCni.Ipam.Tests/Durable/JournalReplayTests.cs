using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam.Tests.Durable;

public sealed class JournalReplayTests
{
    private const string Path = "/test/ipam.json.journal";

    private static readonly AllocationRecord First = Rec("c1", "10.0.0.1");
    private static readonly AllocationRecord Second = Rec("c2", "10.0.0.2");

    // Longer than the replay's stack copy: a split record of this size goes through a rented buffer.
    private static readonly AllocationRecord Long = Rec(new string('x', 700), "10.0.0.3");

    private static AllocationRecord Rec(string container, string ip) =>
        new(new AttachmentKey("aws-cni", container, "eth0"), PodAddress.From(IPAddress.Parse(ip)), 1700000000000000000, new PodMetadata("default", "pod-" + container[..2], 1));

    /// <summary>
    /// Every case recovery handles, in one journal: good records, a release, a corrupt line, a malformed one, bad JSON
    /// with a valid checksum, an unknown operation, and a torn tail.
    /// </summary>
    private static byte[] Journal()
    {
        var corrupt = Line(CheckpointCodec.ToEntry(Rec("c9", "10.0.0.9")));
        corrupt[^5] ^= 0x01;
        var badJson = Encoding.ASCII.GetBytes("{\"op\":");
        var unknown = CheckpointCodec.ToEntry(Rec("c8", "10.0.0.8"));
        unknown.Op = "z";
        byte[][] lines =
        [
            Line(CheckpointCodec.ToEntry(First)),
            Line(CheckpointCodec.ToEntry(Long)),
            corrupt,
            Encoding.ASCII.GetBytes("not a record\n"),
            Encoding.ASCII.GetBytes($"{Crc(badJson):x8} ").Concat(badJson).Append((byte)'\n').ToArray(),
            Line(unknown),
            Line(CheckpointCodec.ToEntry(Second)),
            Line(CheckpointCodec.UnassignEntry(First.Key, First.Address, 1700000000000000099)),
            Line(CheckpointCodec.ToEntry(Rec("c7", "10.0.0.7")))[..^9],
        ];
        return [.. lines.SelectMany(l => l)];
    }

    private static byte[] Line(JournalEntry entry) => CheckpointCodec.WriteJournalLine(entry);

    private static uint Crc(byte[] data) => Crc32.Compute(data);

    private static async Task<JournalReplayState> Replay(PipeReader reader)
    {
        var state = new JournalReplayState([], [], []);
        await JournalReplay.ReplayAsync(reader, Path, state, CancellationToken.None);
        return state;
    }

    private static void ShouldBeTheWholeJournal(JournalReplayState state)
    {
        state.Allocations.Values.Should().BeEquivalentTo([Long, Second]);
        state.Releases.Should().Equal((First.Address, 1700000000000000099L));
        state.Problems.Should().Equal(
            $"journal {Path}: line 3 fails its checksum (corrupt); skipped.",
            $"journal {Path}: line 4 is malformed; skipped.",
            $"journal {Path}: line 5 is not valid JSON; skipped.",
            $"journal {Path}: line 6 has an unknown operation 'z'; skipped.",
            $"journal {Path}: line 9 is truncated (torn write at crash); ignored.");
    }

    [Fact]
    public async Task ReplayAsync_WholeJournalInOneBuffer_AppliesRecordsAndReportsDamage()
    {
        ShouldBeTheWholeJournal(await Replay(PipeReader.Create(new ReadOnlySequence<byte>(Journal()))));
    }

    [Theory]
    [InlineData(4096, 1, 1)]     // one segment, one byte per read: every record arrives over many reads
    [InlineData(4096, 7, 7)]
    [InlineData(1, 1, 4096)]     // the smallest segments the pool gives: every record spans several segments
    [InlineData(1, 1, 1)]
    [InlineData(64, 16, 5)]
    public async Task ReplayAsync_RecordsSplitAcrossReadsAndSegments_SameAsWholeJournal(int bufferSize, int minimumReadSize, int bytesPerRead)
    {
        var stream = new TrickleStream(Journal(), bytesPerRead);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: bufferSize, minimumReadSize: minimumReadSize));

        ShouldBeTheWholeJournal(await Replay(reader));
    }

    [Fact]
    public async Task ReplayAsync_EmptyJournal_NothingAndNoProblems()
    {
        var state = await Replay(PipeReader.Create(new ReadOnlySequence<byte>([])));

        state.Allocations.Should().BeEmpty();
        state.Problems.Should().BeEmpty();
    }

    /// <summary>Hands out at most a few bytes per read, as a slow pipe or a short read from a file may.</summary>
    private sealed class TrickleStream(byte[] data, int bytesPerRead) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, bytesPerRead));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, bytesPerRead)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, bytesPerRead), cancellationToken);
    }
}
