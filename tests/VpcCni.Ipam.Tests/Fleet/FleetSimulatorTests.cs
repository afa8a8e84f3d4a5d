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
}
