using VpcCni.Cloud;
using VpcCni.Ipam.Fleet;

namespace VpcCni.Ipam.Tests.Fleet;

public sealed class FleetSimulatorTests
{
    private static readonly InstanceLimits M5Xlarge = new("m5.xlarge", 4, 15);

    private static FleetSettings ScaleUp(int nodes, int pods, int seed = 1) => new()
    {
        Workload = FleetWorkloadKind.ScaleUp,
        Nodes = nodes,
        Pods = pods,
        InstanceTypes = [(M5Xlarge, 1)],
        WarmupSeconds = 300,
        DurationSeconds = 900,
        Seed = seed,
    };

    [Fact]
    public void Run_SameSeed_IdenticalResultsAndSamples()
    {
        var settings = ScaleUp(40, 40 * 23);

        var a = FleetSimulator.Run(settings, FleetPolicy.Known);
        var b = FleetSimulator.Run(settings, FleetPolicy.Known);

        a.Select(r => r.Result).Should().Equal(b.Select(r => r.Result));
        a.SelectMany(r => r.Samples).Should().Equal(b.SelectMany(r => r.Samples));
    }

    [Fact]
    public void Run_ScaleUp_EveryPodGetsAnAddressOnBothPolicies()
    {
        var runs = FleetSimulator.Run(ScaleUp(20, 20 * 23), FleetPolicy.Known);

        runs.Should().HaveCount(2);
        runs.Should().OnlyContain(r => r.PodsStarted == r.PodsTotal && r.PodsTotal == 460);
        runs.Should().OnlyContain(r => r.Result.Ec2Calls > 0 && r.Result.AllRunningSeconds > 0 && r.Result.FirstAddressSeconds > 0);
    }

    [Fact]
    public void Run_ScaleUpPastTheAccountBurst_VpcCniThrottlesFarLessAndFinishesSooner()
    {
        // 300 nodes each need a new ENI at once: three times the Create bucket's 100 tokens.
        var runs = FleetSimulator.Run(ScaleUp(300, 300 * 23), FleetPolicy.Known);
        var upstream = runs.Single(r => r.Result.Policy == "upstream").Result;
        var vpccni = runs.Single(r => r.Result.Policy == "vpccni").Result;

        vpccni.ThrottledCalls.Should().BeLessThan(upstream.ThrottledCalls / 4);
        vpccni.AllRunningSeconds.Should().BeLessThan(upstream.AllRunningSeconds);
    }

    [Fact]
    public void Run_Join_MixedTypes_FirstAddressIsMeasuredPerNewNode()
    {
        var settings = new FleetSettings
        {
            Workload = FleetWorkloadKind.Join,
            Nodes = 8,
            PodsPerNode = 10,
            InstanceTypes = [(new InstanceLimits("m5.large", 3, 10), 3), (new InstanceLimits("m5.4xlarge", 8, 30), 1)],
            DurationSeconds = 600,
        };

        var run = FleetSimulator.Run(settings, FleetPolicy.VpcCni);

        run.PodsStarted.Should().Be(80);
        run.Result.FirstAddressSeconds.Should().BeInRange(0.1, 30);
    }

    [Fact]
    public void Run_Burst_BurstPolicyMeetsMedianZeroP99OneLeadTimeAndHalfOfUpstreamsIdle()
    {
        // One m5.4xlarge, 5 pods, then 100 at 60 s (the fleet command's burst workload); every pod's ADD is with the
        // daemon at once, as the kubelet's pod workers send them.
        var settings = new FleetSettings
        {
            Workload = FleetWorkloadKind.Trace,
            Nodes = 1,
            InstanceTypes = [(new InstanceLimits("m5.4xlarge", 8, 30), 1)],
            Trace = WorkloadTrace.Parse("""{"name":"burst","durationSeconds":600,"events":[{"at":0,"add":5},{"at":60,"add":100}]}"""),
            DurationSeconds = 600,
        };

        var runs = FleetSimulator.Run(settings, [FleetPolicy.Upstream, FleetPolicy.Burst]);
        var upstream = runs.Single(r => r.Result.Policy == "upstream").Result;
        var burst = runs.Single(r => r.Result.Policy == "burst").Result;

        runs.Should().OnlyContain(r => r.PodsStarted == 105);
        burst.PodWaitP50Seconds.Should().Be(0);
        // The 47 pods beyond the warm pool wait one ENI lead time (the event-driven controller creates more ENIs as ADDs
        // start waiting, not after the first ENI arrives).
        // (DeleteOnTermination is set while the device propagates.)
        var lead = settings.Latencies.Create + settings.Latencies.Attach + TimeSpan.FromTicks(Math.Max(settings.Latencies.AttachPropagation.Ticks, settings.Latencies.Modify.Ticks));
        burst.PodWaitP99Seconds.Should().BeLessThanOrEqualTo(Math.Round(lead.TotalSeconds, 1) + 0.1);
        burst.PodWaitP99Seconds.Should().BeLessThan(upstream.PodWaitP99Seconds);
        burst.AvgIdleIps.Should().BeLessThanOrEqualTo(upstream.AvgIdleIps / 2);
    }
}
