using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace VpcCni.Ipam.Tests.Datastore;

public sealed class IPv6AddressStoreTests
{
    private static readonly IPNetwork Prefix80 = IPNetwork.Parse("2600:1f14:abc:de00:1234::/80");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private IPv6AddressStore Store(IPNetwork? prefix = null, TimeSpan? cooldown = null)
    {
        var store = new IPv6AddressStore(cooldown ?? TimeSpan.FromSeconds(30), _time);
        store.AddPrefix("eni-1", 0, prefix ?? Prefix80);
        return store;
    }

    [Fact]
    public void Assign_Fresh_128InsideThePrefixOnThePrimaryEni()
    {
        var store = Store();

        var result = store.Assign(Key(1), new PodMetadata("default", "p1"));

        result.Succeeded.Should().BeTrue();
        result.Reused.Should().BeFalse();
        var a = result.Allocation!;
        Prefix80.Contains(a.Address).Should().BeTrue();
        a.Address.Should().NotBe(Prefix80.BaseAddress, "the all-zero host number is never handed out");
        a.EniId.Should().Be("eni-1");
        a.DeviceNumber.Should().Be(0);
        a.AllocatedAtUnixNanoseconds.Should().Be(_time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000);
        store.Capacity.Should().Be((UInt128.One << 48) - 1);
    }

    [Fact]
    public void Assign_SameKeyTwice_SameAddressReused()
    {
        var store = Store();
        var first = store.Assign(Key(1), new PodMetadata("default", "p1")).Allocation!;

        var again = store.Assign(Key(1), new PodMetadata("default", "p1"));

        again.Reused.Should().BeTrue();
        again.Allocation.Should().Be(first);
        store.AssignedCount.Should().Be(1);
    }

    [Fact]
    public void Assign_ManyKeys_DistinctAddresses()
    {
        var store = Store();

        var addresses = Enumerable.Range(0, 500).Select(i => store.Assign(Key(i), PodMetadata.None).Allocation!.Address).ToList();

        addresses.Should().OnlyHaveUniqueItems();
        store.AssignedCount.Should().Be(500);
    }

    [Fact]
    public void Assign_SmallPrefixFull_NoRoomThenFreedAfterCooldown()
    {
        // A /126 has 4 host numbers, 3 usable.
        var store = Store(IPNetwork.Parse("fd00::/126"), TimeSpan.FromSeconds(30));
        for (var i = 0; i < 3; i++)
        {
            store.Assign(Key(i), PodMetadata.None).Succeeded.Should().BeTrue();
        }

        store.Assign(Key(9), PodMetadata.None).Failure.Should().Be(AssignFailureReason.NoRoom);
        var released = store.Unassign(Key(1))!;
        store.Assign(Key(9), PodMetadata.None).Failure.Should().Be(AssignFailureReason.NoRoom, "the released address cools down");
        store.CoolingCount.Should().Be(1);

        _time.Advance(TimeSpan.FromSeconds(30));

        store.Assign(Key(9), PodMetadata.None).Allocation!.Address.Should().Be(released.Address);
    }

    [Fact]
    public void Assign_AfterRelease_NextAddressNotTheReleasedOne()
    {
        var store = Store(cooldown: TimeSpan.Zero);
        var first = store.Assign(Key(1), PodMetadata.None).Allocation!;
        store.Unassign(Key(1));

        store.Assign(Key(2), PodMetadata.None).Allocation!.Address.Should().NotBe(first.Address, "the next address moves on round the prefix");
    }

    [Fact]
    public void Assign_NoPrefix_NoRoomNamingIt()
    {
        var store = new IPv6AddressStore(TimeSpan.Zero, _time);

        var result = store.Assign(Key(1), PodMetadata.None);

        result.Failure.Should().Be(AssignFailureReason.NoRoom);
        result.Detail.Should().Contain("no IPv6 prefix");
    }

    [Fact]
    public void Unassign_UnknownKey_NullAndMigratedKeyFallback()
    {
        var store = Store();
        store.Restore(new AttachmentKey("_migrated-from-cri", "c7", "unknown"), IPAddress.Parse("2600:1f14:abc:de00:1234::7"), 1, PodMetadata.None).Should().BeTrue();

        store.Unassign(Key(1)).Should().BeNull();
        store.Unassign(new AttachmentKey("aws-cni", "c7", "eth0"))!.Address.Should().Be(IPAddress.Parse("2600:1f14:abc:de00:1234::7"));
        store.AssignedCount.Should().Be(0);
    }

    [Fact]
    public void Restore_AddressInPrefix_KeptWithItsTimestampAndNotHandedOutAgain()
    {
        var store = Store(IPNetwork.Parse("fd00::/126"));
        var address = IPAddress.Parse("fd00::1");

        store.Restore(Key(1), address, 42, new PodMetadata("ns", "p", 1)).Should().BeTrue();

        store.Find(Key(1)).Should().Be(new IPv6Allocation(Key(1), address, "eni-1", 0, 42, new PodMetadata("ns", "p", 1)));
        store.Assign(Key(2), PodMetadata.None).Allocation!.Address.Should().NotBe(address);
        store.Assign(Key(1), PodMetadata.None).Reused.Should().BeTrue();
    }

    [Fact]
    public void Restore_AddressOutsideEveryPrefix_FalseAndNothingKept()
    {
        var store = Store();

        store.Restore(Key(1), IPAddress.Parse("2600:1f14:abc:de00:9999::1"), 1, PodMetadata.None).Should().BeFalse();
        store.AssignedCount.Should().Be(0);
    }

    [Fact]
    public void Restore_DuplicateAddress_Throws()
    {
        var store = Store();
        var address = IPAddress.Parse("2600:1f14:abc:de00:1234::5");
        store.Restore(Key(1), address, 1, PodMetadata.None);

        var act = () => store.Restore(Key(2), address, 1, PodMetadata.None);

        act.Should().Throw<InvalidOperationException>().WithMessage("*already in data store*");
    }

    [Fact]
    public void AddPrefix_NotIPv6OrTooLarge_Refused()
    {
        var store = new IPv6AddressStore(TimeSpan.Zero, _time);

        ((Action)(() => store.AddPrefix("eni-1", 0, IPNetwork.Parse("10.0.0.0/28")))).Should().Throw<ArgumentException>();
        ((Action)(() => store.AddPrefix("eni-1", 0, IPNetwork.Parse("fd00::/56")))).Should().Throw<ArgumentException>();
    }
}
