using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests;

/// <summary>The EC2 path of the fragmentation-aware choice: no free-/28 field, so the order comes from what EC2 answered.</summary>
public sealed class FragmentedSubnetsTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static SubnetPlacement Subnet(string id, int free, bool refused = false, int? blocks = null) =>
        new(id, "vpc-1", "us-west-2a", free) { RecentlyFragmented = refused, FreePrefixBlocks = blocks };

    [Fact]
    public void Order_PrefixesWithoutReportedBlocks_RefusedSubnetLastElseMostFreeAddresses()
    {
        var order = RequestedSubnets.Order([Subnet("a", 4000, refused: true), Subnet("b", 100), Subnet("c", 900)], AddressUnit.IPv4Prefix);

        order.Select(s => s.SubnetId).Should().Equal("c", "b", "a");
    }

    [Fact]
    public void Order_Addresses_UpstreamOrderIgnoresFragmentation()
    {
        var order = RequestedSubnets.Order([Subnet("a", 4000, refused: true, blocks: 0), Subnet("b", 100), Subnet("c", 900)], AddressUnit.SecondaryIPv4);

        order.Select(s => s.SubnetId).Should().Equal("a", "c", "b");
    }

    [Fact]
    public void Order_PrefixesWithReportedBlocks_MostFreeBlocksFirst()
    {
        var order = RequestedSubnets.Order([Subnet("a", 4000, blocks: 0), Subnet("b", 100, blocks: 6), Subnet("c", 900, blocks: 2)], AddressUnit.IPv4Prefix);

        order.Select(s => s.SubnetId).Should().Equal("b", "c", "a");
    }

    [Fact]
    public void RecentlyRefused_AfterTheMemory_Forgotten()
    {
        var fragmented = new FragmentedSubnets(_time);
        fragmented.NoteRefused("subnet-a");
        fragmented.RecentlyRefused("subnet-a").Should().BeTrue();

        _time.Advance(FragmentedSubnets.Memory);

        fragmented.RecentlyRefused("subnet-a").Should().BeFalse();
    }

    [Fact]
    public void Snapshot_WithoutTheEmulatorTag_FreeBlocksUnknown()
    {
        var fragmented = new FragmentedSubnets(_time);
        fragmented.NoteReported("subnet-a", new Dictionary<string, string> { ["Name"] = "a" }).Should().BeNull();
        fragmented.NoteRefused("subnet-a");

        fragmented.Snapshot(["subnet-a"]).Should().Equal(new SubnetPrefixCapacity("subnet-a", null, true));
    }
}
