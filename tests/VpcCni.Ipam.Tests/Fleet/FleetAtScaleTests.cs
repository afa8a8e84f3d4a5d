using VpcCni.Cloud;
using VpcCni.Ipam.Fleet;

namespace VpcCni.Ipam.Tests.Fleet;

/// <summary>
/// Issue 15's fleet targets at 1,000 nodes, as `vpc-cni-ipamd fleet --workload scale-up|join --nodes 1000 --seed 1` runs
/// them: VpcCni's defaults (the fleet schedule from the node list) are never throttled, start pods at least twice as fast
/// as upstream's timing and client, and have every pod running sooner.
/// </summary>
public sealed class FleetAtScaleTests
{
    private static readonly InstanceLimits M5Xlarge = new("m5.xlarge", 4, 15);

    [Fact]
    public void Run_ScaleUp1000Nodes_VpcCniNeverThrottledAndTwiceUpstreamsPodsPerMinute()
    {
        var settings = new FleetSettings { Workload = FleetWorkloadKind.ScaleUp, Nodes = 1000, Pods = 23_000, InstanceTypes = [(M5Xlarge, 1)], Seed = 1 };

        AssertTargets(FleetSimulator.Run(settings, FleetPolicy.Known), pods: 23_000);
    }

    [Fact]
    public void Run_Join1000Nodes_VpcCniNeverThrottledAndTwiceUpstreamsPodsPerMinute()
    {
        var settings = new FleetSettings { Workload = FleetWorkloadKind.Join, Nodes = 1000, PodsPerNode = 20, InstanceTypes = [(M5Xlarge, 1)], Seed = 1 };

        AssertTargets(FleetSimulator.Run(settings, FleetPolicy.Known), pods: 20_000);
    }

    private static void AssertTargets(IReadOnlyList<FleetRun> runs, int pods)
    {
        var upstream = runs.Single(r => r.Result.Policy == "upstream");
        var vpccni = runs.Single(r => r.Result.Policy == "vpccni");

        runs.Should().OnlyContain(r => r.PodsStarted == pods && r.PodsTotal == pods);
        upstream.Result.ThrottledCalls.Should().BeGreaterThan(0, "the account is the bottleneck: upstream's storm is throttled");
        vpccni.Result.ThrottledCalls.Should().Be(0);
        vpccni.Result.PodsPerMinute.Should().BeGreaterThanOrEqualTo(2 * upstream.Result.PodsPerMinute);
        vpccni.Result.AllRunningSeconds.Should().BeLessThan(upstream.Result.AllRunningSeconds);
    }
}
