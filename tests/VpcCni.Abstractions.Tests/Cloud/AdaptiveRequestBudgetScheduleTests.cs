using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Tests.Cloud;

/// <summary>The fleet-wide schedule (a node's rank among N gives it slots of the account's refill), against a model of the
/// account's token bucket on a fake clock.</summary>
public sealed class AdaptiveRequestBudgetScheduleTests
{
    private static readonly RequestBucketLimit Mutating = new("Mutating", 50, 5);

    private static AdaptiveRequestBudget Node(FakeTimeProvider time, IFleetMembership? place) =>
        new([Mutating], new AdaptiveBudgetOptions { Jitter = 0 }, time, seed: 1, membership: place);

    [Fact]
    public void TryAcquire_WholeFleetAtOnce_NeverThrottledAndEveryNodeServedWithinOnePeriodLessTheWindow()
    {
        const int nodes = 300;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 7, TimeSpan.Zero).AddMilliseconds(130));
        var budgets = Enumerable.Range(0, nodes).Select(i => Node(time, new Place(new FleetPosition(i, nodes)))).ToArray();
        var account = new AccountBucket(Mutating, time);
        var start = time.GetUtcNow();
        var served = new double[nodes];
        Array.Fill(served, double.NaN);

        // Every node wants one request now (a scale-up: each node needs one more ENI at the same moment).
        var pending = Enumerable.Range(0, nodes).ToList();
        while (pending.Count > 0 && time.GetUtcNow() - start < TimeSpan.FromMinutes(5))
        {
            pending.RemoveAll(i =>
            {
                if (budgets[i].TryAcquire(Mutating.Name) != TimeSpan.Zero)
                {
                    return false;
                }

                account.Take().Should().BeTrue($"node {i} sent on its slot at {(time.GetUtcNow() - start).TotalSeconds:0.00} s");
                served[i] = (time.GetUtcNow() - start).TotalSeconds;
                return true;
            });
            time.Advance(TimeSpan.FromMilliseconds(50));
        }

        pending.Should().BeEmpty();
        // The account's 48 usable stored tokens go at once; the rest follow at the refill rate: the last node is served
        // (N − 48) / 5 s after the wave, give or take one slot and the step.
        served.Count(s => s == 0).Should().BeInRange(45, 50);
        served.Max().Should().BeLessThanOrEqualTo(((nodes - 48) / 5.0) + 0.3);
    }

    [Fact]
    public void TryAcquire_RandomDemandOfAFleet_AccountNeverThrottlesAndEveryNodeProgresses()
    {
        const int nodes = 120;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var random = new Random(42);
        var budgets = Enumerable.Range(0, nodes).Select(i => Node(time, new Place(new FleetPosition(i, nodes)))).ToArray();
        var account = new AccountBucket(Mutating, time);
        var start = time.GetUtcNow();
        // Each node wants 1 to 4 requests at random moments of the first 90 s, in bursts and alone.
        var wants = Enumerable.Range(0, nodes)
            .Select(_ => Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.NextDouble() * 90).Order().ToList())
            .ToArray();
        var done = new int[nodes];
        var total = wants.Sum(w => w.Count);
        var sent = 0;

        while (sent < total && time.GetUtcNow() - start < TimeSpan.FromMinutes(15))
        {
            var now = (time.GetUtcNow() - start).TotalSeconds;
            for (var i = 0; i < nodes; i++)
            {
                if (done[i] < wants[i].Count && wants[i][done[i]] <= now && budgets[i].TryAcquire(Mutating.Name) == TimeSpan.Zero)
                {
                    account.Take().Should().BeTrue($"node {i} sent on its slot at {now:0.00} s");
                    done[i]++;
                    sent++;
                }
            }

            time.Advance(TimeSpan.FromMilliseconds(40));
        }

        sent.Should().Be(total, "every node gets all its requests through");
        // One slot per node per period (N / refill = 24 s): a node's k-th request goes within k periods of the last want.
        var lastWant = wants.Max(w => w[^1]);
        (time.GetUtcNow() - start).TotalSeconds.Should().BeLessThan(lastWant + (4 * nodes / 5.0) + 1);
    }

    [Fact]
    public void TryAcquire_SecondRequestOfANode_WaitsForItsNextSlot()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var budget = Node(time, new Place(new FleetPosition(0, 100)));

        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero, "slot 0 is now");
        var wait = budget.TryAcquire(Mutating.Name);

        // The next slot of rank 0 is 100 / 5 = 20 s later; it may be used 8.6 s early (window 48 / 5 s less 1 s grace).
        wait.TotalSeconds.Should().BeApproximately(20 - 8.6, 1e-6);
        budget.IsPaced.Should().BeTrue();
    }

    [Fact]
    public void TryAcquire_AloneOrUnknown_BudgetsAsALoneNode()
    {
        var time = new FakeTimeProvider();
        var place = new Place(null);
        var budget = Node(time, place);

        budget.IsPaced.Should().BeFalse();
        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero);
        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero, "a lone node starts with two tokens");
        place.Position = new FleetPosition(0, 1);
        budget.IsPaced.Should().BeFalse("a fleet of one has nobody to share with");
        place.Position = new FleetPosition(5, 3);
        budget.IsPaced.Should().BeFalse("a rank outside the fleet is not a place");
    }

    [Fact]
    public void OnThrottled_OnTheSchedule_PausesAndThenSkipsEveryOtherSlot()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var budget = Node(time, new Place(new FleetPosition(0, 100)));
        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero);

        // Someone else in the account: the node halves its share (one slot in two) after the back-off.
        budget.OnThrottled(Mutating.Name);
        budget.RateOf(Mutating.Name).Should().BeApproximately(0.025, 1e-9);
        time.Advance(TimeSpan.FromSeconds(2));
        var wait = budget.TryAcquire(Mutating.Name);

        (2 + wait.TotalSeconds).Should().BeApproximately(40 - 8.6, 1e-6, "slot 100 is skipped, slot 200 opens 8.6 s early");
    }

    [Fact]
    public void TryAcquire_BackgroundAtASlotAnUrgentRequestWaitsFor_StandsAsideUntilTheUrgentOneComesOrNot()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var budget = Node(time, new Place(new FleetPosition(0, 100)));
        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero);
        var wait = budget.TryAcquire(Mutating.Name);
        time.Advance(wait);

        // The urgent request's slot has opened; a top-up asking first stands aside for it, briefly.
        budget.TryAcquire(Mutating.Name, background: true).Should().BeGreaterThan(TimeSpan.Zero);
        budget.TryAcquire(Mutating.Name).Should().Be(TimeSpan.Zero, "the urgent request takes its slot");

        // Next slot: the urgent request waits for it, then no longer comes (its pod went away: it became background).
        time.Advance(budget.TryAcquire(Mutating.Name));
        var held = budget.TryAcquire(Mutating.Name, background: true);
        held.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(0.5));
        time.Advance(held);
        budget.TryAcquire(Mutating.Name, background: true).Should().Be(TimeSpan.Zero, "a claim nobody takes up does not hold the slot for good");
    }

    private sealed class Place(FleetPosition? position) : IFleetMembership
    {
        public FleetPosition? Position { get; set; } = position;

        public FleetPosition? Current => Position;
    }

    // The account's token bucket, as EC2 keeps it: full at the start, refilled continuously, a request takes one token.
    private sealed class AccountBucket(RequestBucketLimit limit, TimeProvider time)
    {
        private double _tokens = limit.Capacity;
        private DateTimeOffset _at = time.GetUtcNow();

        public bool Take()
        {
            var now = time.GetUtcNow();
            _tokens = Math.Min(limit.Capacity, _tokens + ((now - _at).TotalSeconds * limit.RefillPerSecond));
            _at = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
