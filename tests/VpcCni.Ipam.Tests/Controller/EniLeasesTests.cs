namespace VpcCni.Ipam.Tests.Controller;

public sealed class EniLeasesTests
{
    [Fact]
    public void TryAcquire_SameEniWhileHeld_IsRefusedUntilReleased()
    {
        var leases = new EniLeases();
        using var first = leases.TryAcquire("eni-a");
        first.Should().NotBeNull();

        leases.TryAcquire("eni-a").Should().BeNull("one mutating operation per ENI at a time");

        first!.Dispose();
        using var second = leases.TryAcquire("eni-a");
        second.Should().NotBeNull();
    }

    [Fact]
    public void TryAcquire_DistinctEnis_AreHeldConcurrently()
    {
        var leases = new EniLeases();
        using var a = leases.TryAcquire("eni-a");
        using var b = leases.TryAcquire("eni-b");
        a.Should().NotBeNull();
        b.Should().NotBeNull();
        leases.IsHeld("eni-a").Should().BeTrue();
        leases.IsHeld("eni-b").Should().BeTrue();
    }

    [Fact]
    public void Dispose_Twice_DoesNotReleaseALeaseTakenInBetween()
    {
        var leases = new EniLeases();
        var early = leases.TryAcquire("eni-a")!;
        early.Dispose();
        using var later = leases.TryAcquire("eni-a");
        later.Should().NotBeNull();

        early.Dispose();

        leases.IsHeld("eni-a").Should().BeTrue("a stale lease releases only itself");
        leases.TryAcquire("eni-a").Should().BeNull();
    }

    [Fact]
    public void AnyHeld_FollowsAcquireAndRelease()
    {
        var leases = new EniLeases();
        leases.AnyHeld.Should().BeFalse();
        var lease = leases.TryAcquire("eni-a")!;
        leases.AnyHeld.Should().BeTrue();
        lease.Dispose();
        leases.AnyHeld.Should().BeFalse();
    }

    [Fact]
    public async Task TryAcquire_RacingThreadsOnOneEni_GrantsExactlyOneAtATime()
    {
        var leases = new EniLeases();
        var inside = 0;
        var maxInside = 0;
        var granted = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                using var lease = leases.TryAcquire("eni-a");
                if (lease is null)
                {
                    continue;
                }

                Interlocked.Increment(ref granted);
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref maxInside, now);
                Interlocked.Decrement(ref inside);
            }
        }, TestContext.Current.CancellationToken)));

        maxInside.Should().Be(1);
        granted.Should().BePositive();
        leases.AnyHeld.Should().BeFalse();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
