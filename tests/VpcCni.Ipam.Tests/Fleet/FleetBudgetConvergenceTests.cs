using VpcCni.Cloud;
using VpcCni.Ipam.Fleet;

namespace VpcCni.Ipam.Tests.Fleet;

/// <summary>50 always-busy nodes against one tight account bucket, each with its own adaptive budget, on the fleet clock.</summary>
public sealed class FleetBudgetConvergenceTests
{
    private static readonly RequestBucketLimit Tight = new("CreateNetworkInterface", 10, 5);

    private sealed class Busy(FleetAccount account, FleetClock clock, FleetEc2Client client)
    {
        public int Successes { get; private set; }

        public int SuccessesSecondHalf { get; private set; }

        public async Task RunAsync(double half, double end)
        {
            while (clock.Seconds < end)
            {
                try
                {
                    await client.CallAsync(Tight, "CreateNetworkInterface", TimeSpan.FromMilliseconds(500), () => false, CancellationToken.None);
                    Successes++;
                    if (clock.Seconds >= half)
                    {
                        SuccessesSecondHalf++;
                    }
                }
                catch (CloudException)
                {
                    // gave up after its attempts: the pool loop would try again
                }
            }

            _ = account;
        }
    }

    private static (List<Busy> Nodes, FleetAccount Account, long ThrottledSecondHalf) RunFleet(Func<FleetAccount, FleetClock, int, FleetEc2Client> client, double seconds = 1200)
    {
        var clock = new FleetClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var account = new FleetAccount(clock, capacityScale: 0.1); // the Create bucket holds 10 tokens, refills 5/s
        var nodes = Enumerable.Range(0, 50).Select(i => new Busy(account, clock, client(account, clock, i))).ToList();
        foreach (var node in nodes)
        {
            _ = node.RunAsync(seconds / 2, seconds);
        }

        clock.RunUntil(seconds / 2);
        var throttledAtHalf = account.Throttled;
        clock.RunUntil(seconds + 60);
        return (nodes, account, account.Throttled - throttledAtHalf);
    }

    private static FleetEc2Client Adaptive(FleetAccount account, FleetClock clock, int i) =>
        new AdaptiveBudgetClient(account, clock, new AdaptiveRequestBudget([Tight], null, clock, seed: i));

    [Fact]
    public void AdaptiveBudget_50NodesTightAccount_ConvergesWithoutSustainedThrottlingOrStarvation()
    {
        var (nodes, account, throttledSecondHalf) = RunFleet(Adaptive);

        var secondHalf = nodes.Sum(n => n.SuccessesSecondHalf);
        var seconds = 600.0;
        (secondHalf / seconds).Should().BeGreaterThan(0.8 * 5, "the fleet keeps the account's refill rate busy");
        throttledSecondHalf.Should().BeLessThan((long)(0.1 * secondHalf), "after convergence throttling is rare: under 10 % of the accepted requests");
        nodes.Should().OnlyContain(n => n.SuccessesSecondHalf > 0, "every node progresses");
        var mean = nodes.Average(n => n.SuccessesSecondHalf);
        nodes.Min(n => n.SuccessesSecondHalf).Should().BeGreaterThanOrEqualTo((int)(0.3 * mean), "no node starves: AIMD shares fairly");
        account.Throttled.Should().BeGreaterThan(0, "the fleet learned its share from the account's answers");
    }

    [Fact]
    public void FleetSchedule_50BusyNodesTightAccount_NeverThrottledAndAnEqualShareEach()
    {
        var (nodes, account, _) = RunFleet((account, clock, i) => new AdaptiveBudgetClient(account, clock, new AdaptiveRequestBudget([Tight], null, clock, seed: i, membership: new Place(i, 50))));

        account.Throttled.Should().Be(0, "the nodes send on their own slots of the account's refill");
        var secondHalf = nodes.Sum(n => n.SuccessesSecondHalf);
        (secondHalf / 600.0).Should().BeGreaterThan(0.95 * 5, "the schedule uses the account's whole refill");
        nodes.Min(n => n.SuccessesSecondHalf).Should().BeGreaterThanOrEqualTo(nodes.Max(n => n.SuccessesSecondHalf) - 1, "one slot per node per period");
    }

    [Fact]
    public void FleetSchedule_AnotherToolTakesTwoFifthsOfTheRefill_ThrottlingDoesNotPersistAndEveryNodeProgresses()
    {
        var budgets = new List<AdaptiveRequestBudget>();
        var (nodes, _, _) = RunFleet((account, clock, i) =>
        {
            if (i == 0)
            {
                _ = OtherToolAsync(account, clock, perSecond: 2, end: 1260);
            }

            var budget = new AdaptiveRequestBudget([Tight], null, clock, seed: i, membership: new Place(i, 50));
            budgets.Add(budget);
            return new AdaptiveBudgetClient(account, clock, budget);
        });

        var secondHalf = nodes.Sum(n => n.SuccessesSecondHalf);
        var throttles = budgets.Sum(b => b.Throttles);
        TestContext.Current.TestOutputHelper?.WriteLine($"accepted {nodes.Sum(n => n.Successes)}, second half {secondHalf / 600.0:0.00}/s, node throttles {throttles}, per node second half {nodes.Min(n => n.SuccessesSecondHalf)}-{nodes.Max(n => n.SuccessesSecondHalf)}");
        throttles.Should().BeGreaterThan(0, "the schedule alone over-books the account now: the nodes hear it");
        nodes.Should().OnlyContain(n => n.SuccessesSecondHalf > 0, "every node progresses");
        (secondHalf / 600.0).Should().BeGreaterThan(0.5 * 3, "the nodes keep at least half of what the other tool leaves");
        // Throttling is learned, not sustained: few answers per accepted request over the whole run.
        ((double)throttles / nodes.Sum(n => n.Successes)).Should().BeLessThan(0.1);
    }

    private static async Task OtherToolAsync(FleetAccount account, FleetClock clock, double perSecond, double end)
    {
        while (clock.Seconds < end)
        {
            account.TryTake(Tight.Name);
            await ClockDelay.Wait(clock, TimeSpan.FromSeconds(1 / perSecond), inline: true, CancellationToken.None);
        }
    }

    private sealed class Place(int rank, int size) : IFleetMembership
    {
        public FleetPosition? Current => new FleetPosition(rank, size);
    }

    [Fact]
    public void SdkRetriesWithoutBudget_50NodesTightAccount_ThrottleWithoutEnd()
    {
        var (nodes, _, throttledSecondHalf) = RunFleet((account, clock, i) => new SdkStandardRetryClient(account, clock, new Random(i)));

        throttledSecondHalf.Should().BeGreaterThan(nodes.Sum(n => n.SuccessesSecondHalf), "the baseline: more throttled answers than accepted requests, for good");
    }

    [Fact]
    public void AdaptiveBudget_SameSeeds_SameOutcome()
    {
        var a = RunFleet(Adaptive, 300);
        var b = RunFleet(Adaptive, 300);

        a.Nodes.Select(n => n.Successes).Should().Equal(b.Nodes.Select(n => n.Successes));
        a.Account.Throttled.Should().Be(b.Account.Throttled);
    }
}
