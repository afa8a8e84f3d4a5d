using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Tests.Cloud;

public sealed class AdaptiveRequestBudgetTests
{
    private static readonly RequestBucketLimit Create = new("CreateNetworkInterface", 100, 5);
    private static readonly RequestBucketLimit Describe = new("NonMutating", 100, 20);

    private static AdaptiveRequestBudget New(FakeTimeProvider time, AdaptiveBudgetOptions? options = null) =>
        new([Create, Describe], options ?? new AdaptiveBudgetOptions { Jitter = 0 }, time, seed: 1);

    [Fact]
    public void TryAcquire_NewNode_StartsAtTheAccountRefillWithASmallBurst()
    {
        var time = new FakeTimeProvider();
        var budget = New(time);

        budget.RateOf(Create.Name).Should().Be(5);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.FromSeconds(0.2), "two initial tokens, then one per 1/5 s");
    }

    [Fact]
    public void OnThrottled_HalvesTheRateAndPausesTheClass()
    {
        var time = new FakeTimeProvider();
        var budget = New(time);

        budget.OnThrottled(Create.Name);

        budget.RateOf(Create.Name).Should().Be(2.5);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.FromSeconds(1), "the first back-off is 1 s");
        budget.RateOf(Describe.Name).Should().Be(20, "another class keeps its rate");
        budget.TryAcquire(Describe.Name).Should().Be(TimeSpan.Zero);
        budget.Throttles.Should().Be(1);
    }

    [Fact]
    public void OnThrottled_DuringThePause_DecreasesOnlyOnce()
    {
        var time = new FakeTimeProvider();
        var budget = New(time);

        budget.OnThrottled(Create.Name);
        budget.OnThrottled(Create.Name);
        budget.OnThrottled(Create.Name);

        budget.RateOf(Create.Name).Should().Be(2.5, "answers to requests sent before the pause are the same congestion");
        budget.Throttles.Should().Be(3);
    }

    [Fact]
    public void OnThrottled_InARow_BackOffDoublesUpToTheCap()
    {
        var time = new FakeTimeProvider();
        var budget = New(time, new AdaptiveBudgetOptions { Jitter = 0, MaxBackoff = TimeSpan.FromSeconds(4) });
        var pauses = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            budget.OnThrottled(Create.Name);
            var pause = budget.TryAcquire(Create.Name);
            pauses.Add(pause);
            time.Advance(pause);
        }

        pauses.Select(p => p.TotalSeconds).Should().Equal(1, 2, 4, 4, 4);
    }

    [Fact]
    public void OnThrottled_RetryAfterLongerThanTheBackOff_IsHonoured()
    {
        var time = new FakeTimeProvider();
        var budget = New(time);

        budget.OnThrottled(Create.Name, TimeSpan.FromSeconds(7));

        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.FromSeconds(7));
    }

    [Fact]
    public void TryAcquire_AfterWaitingForItsOwnBudget_IncreasesAdditively()
    {
        var time = new FakeTimeProvider();
        var budget = New(time, new AdaptiveBudgetOptions { Jitter = 0, IncreasePerSecond = 0.1 });
        budget.OnThrottled(Create.Name); // 2.5/s, paused 1 s
        var wait = budget.TryAcquire(Create.Name);

        time.Advance(wait);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero);

        budget.RateOf(Create.Name).Should().BeApproximately(2.5 + (5 * 0.1 * 1), 1e-9, "0.1 of the refill per second waited");
    }

    [Fact]
    public void TryAcquire_NotLimitedByItsRate_DoesNotIncrease()
    {
        var time = new FakeTimeProvider();
        var budget = New(time, new AdaptiveBudgetOptions { Jitter = 0, IncreasePerSecond = 0.1 });
        budget.OnThrottled(Create.Name);
        time.Advance(TimeSpan.FromSeconds(30));

        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero);

        budget.RateOf(Create.Name).Should().Be(2.5, "a node whose demand is below its rate learns nothing about the account");
    }

    [Fact]
    public void Rate_ManyThrottlesAndLongWaits_StaysWithinTheBounds()
    {
        var time = new FakeTimeProvider();
        var budget = New(time, new AdaptiveBudgetOptions { Jitter = 0, IncreasePerSecond = 1 });
        for (var i = 0; i < 40; i++)
        {
            budget.OnThrottled(Create.Name);
            time.Advance(TimeSpan.FromMinutes(2));
        }

        budget.RateOf(Create.Name).Should().Be(5.0 / 4096, "the floor is 1/4096 of the refill");
        for (var i = 0; i < 40; i++)
        {
            time.Advance(budget.TryAcquire(Create.Name));
        }

        budget.RateOf(Create.Name).Should().Be(5, "never above the account's own refill rate");
    }

    [Fact]
    public void TryAcquire_Background_StandsAsideAfterAThrottleWhileUrgentRequestsGo()
    {
        var time = new FakeTimeProvider();
        var budget = New(time, new AdaptiveBudgetOptions { Jitter = 0, BackgroundQuiet = TimeSpan.FromSeconds(60), BackgroundRecheck = TimeSpan.FromSeconds(2) });
        budget.OnThrottled(Describe.Name);
        time.Advance(TimeSpan.FromSeconds(10));

        budget.TryAcquire(Create.Name, background: true).Should().Be(TimeSpan.FromSeconds(2), "background waits out the quiet time, asking again every 2 s");
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero, "a request a pod waits for goes");
        time.Advance(TimeSpan.FromSeconds(51));
        budget.TryAcquire(Create.Name, background: true).Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void TryAcquire_UnknownBucket_Throws()
    {
        var budget = New(new FakeTimeProvider());

        budget.Invoking(b => b.TryAcquire("RunInstances")).Should().Throw<ArgumentException>().WithMessage("*RunInstances*");
    }

    [Fact]
    public async Task AcquireAsync_EmptyBucket_WaitsOnTheTimeProvider()
    {
        var time = new FakeTimeProvider();
        var budget = New(time);
        var ct = TestContext.Current.CancellationToken;
        await budget.AcquireAsync(Create.Name, ct);
        await budget.AcquireAsync(Create.Name, ct);

        var third = budget.AcquireAsync(Create.Name, ct).AsTask();
        third.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromMilliseconds(200));

        await third.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    [Fact]
    public void TryAcquire_PacedFleetOf1000AllAtOnce_FirstWaveStaysUnderTheAccountBucket()
    {
        var time = new FakeTimeProvider();
        var sends = new List<double>();
        for (var i = 0; i < 1000; i++)
        {
            var budget = new AdaptiveRequestBudget([Create], new AdaptiveBudgetOptions { FleetSize = 1000 }, time, seed: i);
            var wait = budget.TryAcquire(Create.Name);
            sends.Add(wait.TotalSeconds);
        }

        sends.Sort();
        // The account's bucket as the Mutating one behind it (50 tokens, 5/s): the k-th request finds a token if k <= 50 + 5 t.
        sends.Select((t, k) => k + 1 <= 50 + (5 * t)).Should().AllBeEquivalentTo(true, "the wave is spread over one period");
        sends[^1].Should().BeLessThan(1000 * 1.05 / 5, "every node sends within one period of 210 s");
    }

    [Fact]
    public void TryAcquire_PacedIdleNode_HoldsNoCreditAndFollowUpsRideOnTheSlot()
    {
        var time = new FakeTimeProvider();
        var budget = new AdaptiveRequestBudget([Create], new AdaptiveBudgetOptions { FleetSize = 100 }, time, seed: 3);
        var first = budget.TryAcquire(Create.Name);
        time.Advance(first);
        budget.TryAcquire(Create.Name).Should().Be(TimeSpan.Zero, "the slot has come");
        budget.TryAcquire("CreateNetworkInterface", followUp: true).Should().Be(TimeSpan.Zero, "a follow-up goes on its leader's slot");

        time.Advance(TimeSpan.FromSeconds(3600));

        budget.TryAcquire(Create.Name).Should().BeGreaterThan(TimeSpan.Zero, "an hour idle earns no burst: unused slots are lost");
    }

    [Fact]
    public void TryAcquire_PacedDeferrable_BooksTheSlotAndMayUseItLate()
    {
        var time = new FakeTimeProvider();
        var budget = new AdaptiveRequestBudget([Describe], new AdaptiveBudgetOptions { FleetSize = 1000 }, time, seed: 5);
        var tries = 0;
        // The caller (a pool loop) asks every 5 s, longer than the 1 s grace of a slot: without the booking it would miss
        // its slots; with it, it is served within one period (52.5 s for 1,000 nodes on the 20/s bucket).
        while (budget.TryAcquire(Describe.Name, background: true, followUp: false, deferrable: true) > TimeSpan.Zero && tries < 12)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            tries++;
        }

        tries.Should().BeLessThan(12);
    }
}
