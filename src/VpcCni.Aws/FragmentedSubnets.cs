using System.Collections.Concurrent;
using System.Globalization;

namespace VpcCni.Aws;

/// <summary>
/// What a provider knows of /28 fragmentation per subnet. Real EC2 does not report free /28 blocks (DescribeSubnets has
/// only AvailableIpAddressCount), so the provider learns from EC2's own answers: a subnet that answered
/// InsufficientCidrBlocks is tried last for prefixes for a while. The loopback emulator additionally reports the count
/// in a tag only it sets (<see cref="EmulatorFreeBlocksTag"/>); when present, the provider orders by it. Against EC2 that
/// tag never exists, and nothing depends on it.
/// </summary>
internal sealed class FragmentedSubnets(TimeProvider time)
{
    /// <summary>The emulator's extension: free aligned /28 blocks of a subnet, in its DescribeSubnets tag set.</summary>
    public const string EmulatorFreeBlocksTag = "vpccni.emulator/free-ipv4-28-blocks";

    /// <summary>How long an InsufficientCidrBlocks answer puts a subnet last for prefixes.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _refusedAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _reportedFreeBlocks = new(StringComparer.Ordinal);

    /// <summary>The subnet answered InsufficientCidrBlocks.</summary>
    public void NoteRefused(string subnetId) => _refusedAt[subnetId] = time.GetUtcNow();

    /// <summary>The subnet granted a prefix: it is not (or no longer) fragmented.</summary>
    public void NoteGranted(string subnetId) => _refusedAt.TryRemove(subnetId, out _);

    public bool RecentlyRefused(string subnetId) =>
        _refusedAt.TryGetValue(subnetId, out var at) && time.GetUtcNow() - at < Memory;

    /// <summary>Records the free /28 count the cloud reported for a subnet (the emulator's tag), or forgets it.</summary>
    public int? NoteReported(string subnetId, IReadOnlyDictionary<string, string> tags)
    {
        if (tags.TryGetValue(EmulatorFreeBlocksTag, out var value) && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var blocks))
        {
            _reportedFreeBlocks[subnetId] = blocks;
            return blocks;
        }

        _reportedFreeBlocks.TryRemove(subnetId, out _);
        return null;
    }

    /// <summary>What is known per subnet, for introspection and metrics: reported free /28 blocks (null when the cloud does
    /// not say) and whether it refused a prefix recently.</summary>
    public IReadOnlyList<VpcCni.Cloud.SubnetPrefixCapacity> Snapshot(IEnumerable<string> subnetIds) =>
        [.. subnetIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(id => new VpcCni.Cloud.SubnetPrefixCapacity(
            id, _reportedFreeBlocks.TryGetValue(id, out var b) ? b : null, RecentlyRefused(id)))];
}
