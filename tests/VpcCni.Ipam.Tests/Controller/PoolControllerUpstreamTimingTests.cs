using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>The upstream timing mode (<see cref="PoolLoopMode.FixedInterval"/>, one ENI per cycle) on the virtual clock.</summary>
public sealed class PoolControllerUpstreamTimingTests
{
    private static readonly InstanceLimits M54xlarge = new("m5.4xlarge", 8, 30);
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly VirtualClock _clock = new(Start);
    private readonly InMemoryPlanningCloud _cloud = new(M54xlarge);
    private readonly List<double> _createAttempts = [];

    [Fact]
    public async Task RunAsync_UpstreamMode_CreatesAtMostOneEniPerFiveSecondCycleAtTheCycleMidpoint()
    {
        _cloud.FaultInjector = op => Note(op, throttle: false);
        using var c = Controller(SimulationPolicies.Upstream().Options);
        await c.InitializeAsync(CancellationToken.None);

        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);
        // 150 pods whose ADDs fail at once when no address is free and are retried every second (the runtime's retry).
        await DriveAsync(c, pods: 150, seconds: 40);
        cts.Cancel();
        _clock.Advance(TimeSpan.FromSeconds(10));
        loop.IsCompleted.Should().BeTrue();

        _createAttempts.Should().HaveCount(6, "150 pods and one warm ENI need six ENIs beside the primary");
        _createAttempts.Select(t => (int)Math.Floor(t / 5)).Should().OnlyHaveUniqueItems("at most one ENI is created per 5 s window");
        _createAttempts.Should().OnlyContain(t => Math.Abs((t % 5) - 2.5) < 1e-6, "the pool decision runs 2.5 s into each 5 s cycle, never when an ADD fails");
        c.Datastore.EniCount.Should().Be(7);
    }

    [Fact]
    public async Task RunAsync_EventDriven_CreatesSeveralEnisInTheSameWindow()
    {
        // The contrast that makes the test above meaningful: the same demand, VpcCni's loop.
        _cloud.FaultInjector = op => Note(op, throttle: false);
        using var c = Controller(SimulationPolicies.VpcCni().Options);
        await c.InitializeAsync(CancellationToken.None);

        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);
        await DriveAsync(c, pods: 150, seconds: 40);
        cts.Cancel();
        _clock.Advance(TimeSpan.FromSeconds(10));

        _createAttempts.GroupBy(t => (int)Math.Floor(t / 5)).Should().Contain(g => g.Count() > 1);
    }

    [Fact]
    public async Task RunAsync_UpstreamModeThrottled_RetriesTheGrowthOnlyAtTheNextCycle()
    {
        var throttled = true;
        _cloud.FaultInjector = op => Note(op, throttled);
        using var c = Controller(SimulationPolicies.Upstream().Options);
        await c.InitializeAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var loop = c.RunAsync(cts.Token);

        // 40 pods: 29 fit on the primary ENI, 11 keep retrying their ADD every second while EC2 throttles.
        var pods = StartPods(40);
        await DriveAsync(c, pods, seconds: 20);
        _createAttempts.Should().Equal([2.5, 7.5, 12.5, 17.5], "a throttled growth is tried again at the next cycle, not at each failed ADD");

        throttled = false;
        await DriveAsync(c, pods, seconds: 5);
        cts.Cancel();
        _clock.Advance(TimeSpan.FromSeconds(10));

        _createAttempts.Should().Equal([2.5, 7.5, 12.5, 17.5, 22.5]);
        pods.Should().OnlyContain(p => p.Started, "the ENI created once EC2 stopped throttling serves the retried ADDs");
    }

    [Fact]
    public async Task RunPoolRound_MaxEniCreatesPerRound_KeepsOnlyThatManyNewEnis()
    {
        var policy = new ThreeNewEnisPolicy();
        using var capped = new PoolController(new InMemoryPlanningCloud(M54xlarge), new IpamOptions { MaxEniCreatesPerRound = 1 }, _clock, policy: policy);
        using var uncapped = new PoolController(new InMemoryPlanningCloud(M54xlarge), new IpamOptions(), _clock, policy: policy);

        await capped.InitializeAsync(CancellationToken.None);
        await uncapped.InitializeAsync(CancellationToken.None);

        capped.Datastore.EniCount.Should().Be(2, "the primary ENI and the one new ENI the cap allows in the initial round");
        uncapped.Datastore.EniCount.Should().Be(8, "without a cap the round repeats until no ENI slot is left");
    }

    private PoolController Controller(IpamOptions options) => new(_cloud, options, _clock, null, null, null, 0, inlineSignals: true);

    private CloudException? Note(string operation, bool throttle)
    {
        if (operation != "CreateAndAttachEni")
        {
            return null;
        }

        _createAttempts.Add(Math.Round((_clock.GetUtcNow() - Start).TotalSeconds, 3));
        return throttle ? new CloudException(CloudErrorKind.Throttled, "Request limit exceeded.", "RequestLimitExceeded") : null;
    }

    private static List<Pod> StartPods(int count) => [.. Enumerable.Range(0, count).Select(i => new Pod(new AttachmentKey("sim", $"pod-{i}", "eth0")))];

    private Task DriveAsync(PoolController c, int pods, double seconds) => DriveAsync(c, StartPods(pods), seconds);

    /// <summary>Retries every pod's failed ADD each second while the clock runs in 100 ms steps.</summary>
    private async Task DriveAsync(PoolController c, List<Pod> pods, double seconds)
    {
        var end = _clock.GetUtcNow() + TimeSpan.FromSeconds(seconds);
        var nextRetry = _clock.GetUtcNow();
        while (_clock.GetUtcNow() < end)
        {
            if (_clock.GetUtcNow() >= nextRetry)
            {
                foreach (var pod in pods.Where(p => !p.Started && p.Pending is null))
                {
                    pod.Pending = c.AssignAsync(pod.Key, PodMetadata.None, CancellationToken.None).AsTask();
                }

                nextRetry += TimeSpan.FromSeconds(1);
            }

            foreach (var pod in pods.Where(p => p.Pending is { IsCompleted: true }))
            {
                pod.Started = (await pod.Pending!).Succeeded;
                pod.Pending = null;
            }

            _clock.Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    private sealed class Pod(AttachmentKey key)
    {
        public AttachmentKey Key { get; } = key;

        public Task<AssignResult>? Pending { get; set; }

        public bool Started { get; set; }
    }

    private sealed class ThreeNewEnisPolicy : IPoolPolicy
    {
        public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options) =>
            new() { Grow = [.. Enumerable.Repeat(new GrowAction(null, 5), Math.Min(3, limits.MaxEnis - snapshot.Enis.Count))] };
    }
}
