using System.Net;
using System.Text;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam.Tests.Durable;

public sealed class DurableAllocationStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ipam-durable-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public DurableAllocationStoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CheckpointPath => Path.Combine(_dir, "ipam.json");

    private static AllocationRecord Rec(int i, string ip) =>
        new(new AttachmentKey("aws-cni", $"c{i}", "eth0"), PodAddress.From(IPAddress.Parse(ip)), 1700000000000000000 + i, new PodMetadata("default", $"pod-{i}", 1));

    [Fact]
    public void WriteCheckpoint_UpstreamExample_IsByteIdentical()
    {
        var bytes = CheckpointCodec.WriteCheckpoint([new AllocationRecord(new AttachmentKey("aws-cni", "abc", "eth0"), PodAddress.From(IPAddress.Parse("10.0.0.5")), 1700000000000000000, new PodMetadata("default", "my-pod", 1))]);
        Encoding.UTF8.GetString(bytes).Should().Be(
            "{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[{\"networkName\":\"aws-cni\",\"containerID\":\"abc\",\"ifName\":\"eth0\",\"ipv4\":\"10.0.0.5\",\"allocationTimestamp\":1700000000000000000,\"metadata\":{\"k8sPodNamespace\":\"default\",\"k8sPodName\":\"my-pod\",\"interfacesCount\":1}}]}\n");
        Encoding.UTF8.GetString(CheckpointCodec.WriteCheckpoint([])).Should().Be("{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[]}\n");
    }

    [Fact]
    public void Load_UpstreamCheckpointWithoutMetadataFields_ReadsIt()
    {
        File.WriteAllText(CheckpointPath, "{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[{\"networkName\":\"aws-cni\",\"containerID\":\"x\",\"ifName\":\"eth0\",\"ipv4\":\"10.1.2.3\",\"allocationTimestamp\":5,\"metadata\":{}}]}\n");
        using var store = new DurableAllocationStore(CheckpointPath);
        var result = store.Load();
        result.Problems.Should().BeEmpty();
        result.Allocations.Should().ContainSingle().Which.Address.ToString().Should().Be("10.1.2.3");
    }

    [Fact]
    public async Task AppendThenReload_RecoversLastStatePerKey()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            store.Load();
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
            await store.AppendAssignAsync(Rec(2, "10.0.0.2"), CancellationToken.None);
            await store.AppendUnassignAsync(Rec(1, "10.0.0.1").Key, CancellationToken.None);
        }

        using var reopened = new DurableAllocationStore(CheckpointPath);
        var result = reopened.Load();
        result.Problems.Should().BeEmpty();
        result.Allocations.Should().ContainSingle().Which.Should().Be(Rec(2, "10.0.0.2"));
    }

    [Fact]
    public async Task LoadAsync_AfterAppendsAndARelease_RecoversStateAndRelease()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            await store.LoadAsync(CancellationToken.None);
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
            await store.AppendAssignAsync(Rec(2, "10.0.0.2"), CancellationToken.None);
            await store.AppendUnassignAsync(Rec(1, "10.0.0.1").Key, Rec(1, "10.0.0.1").Address, 42, CancellationToken.None);
        }

        using var reopened = new DurableAllocationStore(CheckpointPath);
        var result = await reopened.LoadAsync(CancellationToken.None);
        result.Problems.Should().BeEmpty();
        result.Allocations.Should().ContainSingle().Which.Should().Be(Rec(2, "10.0.0.2"));
        result.Releases.Should().Equal((Rec(1, "10.0.0.1").Address, 42L));
    }

    [Fact]
    public async Task CompactAsync_BeforeLoad_ThrowsAndLeavesTheRecordOnDisk()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            await store.LoadAsync(CancellationToken.None);
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
        }

        using (var unloaded = new DurableAllocationStore(CheckpointPath))
        {
            var compact = () => unloaded.CompactAsync(CancellationToken.None);
            await compact.Should().ThrowAsync<InvalidOperationException>().WithMessage("*has not been loaded*");
            var replace = () => unloaded.ReplaceAllAsync([], CancellationToken.None);
            await replace.Should().ThrowAsync<InvalidOperationException>();
        }

        using var reopened = new DurableAllocationStore(CheckpointPath);
        (await reopened.LoadAsync(CancellationToken.None)).Allocations.Should().ContainSingle().Which.Should().Be(Rec(1, "10.0.0.1"));
    }

    [Fact]
    public async Task ReplaceAllAsync_DroppingAnAllocation_StaysDroppedAfterReloadAndCheckpointFallback()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            await store.LoadAsync(CancellationToken.None);
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
            await store.AppendAssignAsync(Rec(2, "10.0.0.2"), CancellationToken.None);
            await store.ReplaceAllAsync([Rec(2, "10.0.0.2")], CancellationToken.None);
        }

        using (var reopened = new DurableAllocationStore(CheckpointPath))
        {
            (await reopened.LoadAsync(CancellationToken.None)).Allocations.Should().ContainSingle()
                .Which.Should().Be(Rec(2, "10.0.0.2"), "the previous journal's assignment must not bring a restore-dropped allocation back");
        }

        File.WriteAllText(CheckpointPath, "{\"version\":");
        using var fallback = new DurableAllocationStore(CheckpointPath);
        (await fallback.LoadAsync(CancellationToken.None)).Allocations.Should().ContainSingle().Which.Should().Be(Rec(2, "10.0.0.2"));
    }

    [Fact]
    public async Task ConcurrentWriters_ShareFsyncs()
    {
        using var store = new DurableAllocationStore(CheckpointPath);
        store.Load();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => store.AppendAssignAsync(Rec(i, $"10.0.1.{i}"), CancellationToken.None))));
        store.GetDurableAllocations().Should().HaveCount(64);
        store.JournalSyncs.Should().BeLessThan(64);
    }

    [Fact]
    public async Task Dispose_WithAppendsQueued_WritesThemBeforeClosing()
    {
        Task[] appends;
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            store.Load();
            appends = [.. Enumerable.Range(0, 32).Select(i => store.AppendAssignAsync(Rec(i, $"10.0.2.{i}"), CancellationToken.None))];
        }

        await Task.WhenAll(appends);
        using var reopened = new DurableAllocationStore(CheckpointPath);
        reopened.Load().Allocations.Should().HaveCount(32);
    }

    [Fact]
    public async Task FailedCompaction_IsReportedToItsCallerAndLaterAppendsStillWork()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            store.Load();
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
            await store.CompactAsync(CancellationToken.None);

            // A directory where the checkpoint's backup copy goes makes the next compaction fail at its first step.
            Directory.CreateDirectory(CheckpointPath + ".prev");
            var compact = () => store.CompactAsync(CancellationToken.None);
            await compact.Should().ThrowAsync<IOException>();

            await store.AppendAssignAsync(Rec(2, "10.0.0.2"), CancellationToken.None);
        }

        Directory.Delete(CheckpointPath + ".prev");
        using var reopened = new DurableAllocationStore(CheckpointPath);
        reopened.Load().Allocations.Select(a => a.Key.ContainerId).Should().BeEquivalentTo(["c1", "c2"]);
    }

    [Fact]
    public async Task Compaction_WritesUpstreamCheckpointAndEmptiesJournal()
    {
        using (var store = new DurableAllocationStore(CheckpointPath, compactEvery: 3))
        {
            store.Load();
            for (var i = 0; i < 4; i++)
            {
                await store.AppendAssignAsync(Rec(i, $"10.0.0.{i + 1}"), CancellationToken.None);
            }
        }

        File.ReadAllText(CheckpointPath).Should().StartWith("{\"version\":\"vpc-cni-ipam/1\"").And.Contain("10.0.0.3");
        using var reopened = new DurableAllocationStore(CheckpointPath);
        reopened.Load().Allocations.Should().HaveCount(4);
    }

    [Fact]
    public async Task TornJournalTail_IsReportedAndEarlierRecordsKept()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            store.Load();
            await store.AppendAssignAsync(Rec(1, "10.0.0.1"), CancellationToken.None);
            await store.AppendAssignAsync(Rec(2, "10.0.0.2"), CancellationToken.None);
        }

        var bytes = File.ReadAllBytes(CheckpointPath + ".journal");
        File.WriteAllBytes(CheckpointPath + ".journal", bytes[..^7]);
        using var reopened = new DurableAllocationStore(CheckpointPath);
        var result = reopened.Load();
        result.Problems.Should().ContainSingle(p => p.Contains("truncated"));
        result.Allocations.Should().ContainSingle().Which.Key.ContainerId.Should().Be("c1");
        result.Complete.Should().BeTrue();
    }

    [Fact]
    public async Task CorruptJournalLineInTheMiddle_IsSkippedAndLaterRecordsKept()
    {
        using (var store = new DurableAllocationStore(CheckpointPath))
        {
            store.Load();
            for (var i = 1; i <= 3; i++)
            {
                await store.AppendAssignAsync(Rec(i, $"10.0.0.{i}"), CancellationToken.None);
            }
        }

        var lines = File.ReadAllLines(CheckpointPath + ".journal");
        lines[1] = lines[1].Replace("10.0.0.2", "10.0.0.9", StringComparison.Ordinal);
        File.WriteAllText(CheckpointPath + ".journal", string.Join('\n', lines) + "\n");
        using var reopened = new DurableAllocationStore(CheckpointPath);
        var result = reopened.Load();
        result.Problems.Should().Contain(p => p.Contains("line 2") && p.Contains("checksum"));
        result.Allocations.Select(a => a.Key.ContainerId).Should().BeEquivalentTo("c1", "c3");
    }

    [Fact]
    public async Task CorruptCheckpoint_RecoversFromPreviousCheckpointAndJournals()
    {
        using (var store = new DurableAllocationStore(CheckpointPath, compactEvery: 2))
        {
            store.Load();
            for (var i = 1; i <= 5; i++)
            {
                await store.AppendAssignAsync(Rec(i, $"10.0.0.{i}"), CancellationToken.None);
            }
        }

        File.WriteAllText(CheckpointPath, "{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[{\"netw");
        using var reopened = new DurableAllocationStore(CheckpointPath);
        var result = reopened.Load();
        result.Problems.Should().Contain(p => p.Contains("not valid JSON")).And.Contain(p => p.Contains("previous checkpoint"));
        result.Allocations.Should().HaveCount(5);
        result.Complete.Should().BeTrue();
        File.Exists(CheckpointPath + ".corrupt").Should().BeTrue();
    }

    [Fact]
    public void WrongVersion_IsReportedWithUpstreamMessage()
    {
        File.WriteAllText(CheckpointPath, "{\"version\":\"vpc-cni-ipam/2\",\"allocations\":[]}\n");
        using var store = new DurableAllocationStore(CheckpointPath);
        var result = store.Load();
        result.Problems.Should().Contain(p => p.Contains("unexpected checkpointVersion: vpc-cni-ipam/2/vpc-cni-ipam/1"));
        result.Complete.Should().BeFalse();
    }

    [Fact]
    public void DuplicateAddressInCheckpoint_KeepsFirstAndReports()
    {
        File.WriteAllText(CheckpointPath, "{\"version\":\"vpc-cni-ipam/1\",\"allocations\":[" +
            "{\"networkName\":\"n\",\"containerID\":\"a\",\"ifName\":\"eth0\",\"ipv4\":\"10.0.0.1\",\"allocationTimestamp\":1,\"metadata\":{}}," +
            "{\"networkName\":\"n\",\"containerID\":\"b\",\"ifName\":\"eth0\",\"ipv4\":\"10.0.0.1\",\"allocationTimestamp\":2,\"metadata\":{}}]}\n");
        using var store = new DurableAllocationStore(CheckpointPath);
        var result = store.Load();
        result.Allocations.Should().ContainSingle().Which.Key.ContainerId.Should().Be("a");
        result.Problems.Should().ContainSingle(p => p.Contains("recorded for both"));
    }

    [Fact]
    public void PathForCard_FollowsUpstreamRule()
    {
        DurableAllocationStore.PathForCard("/var/run/aws-node/ipam.json", 0).Should().Be("/var/run/aws-node/ipam.json");
        DurableAllocationStore.PathForCard("/var/run/aws-node/ipam.json", 2).Should().Be("/var/run/aws-node/ipam-nic-2.json");
    }
}
