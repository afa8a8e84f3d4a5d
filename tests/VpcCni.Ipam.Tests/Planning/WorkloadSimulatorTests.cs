using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Planning;

public sealed class WorkloadSimulatorTests
{
    internal static readonly InstanceLimits M54xlarge = new("m5.4xlarge", 8, 30);

    internal static string SamplePath(string name)
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "samples", "workloads")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.Combine(dir ?? throw new DirectoryNotFoundException("samples/workloads"), "samples", "workloads", name);
    }

    internal static (string, IpamOptions)[] Policies =>
    [
        ("WARM_ENI_TARGET=1", new IpamOptions { WarmEniTarget = 1 }),
        ("demand-aware", new IpamOptions { WarmEniTarget = 1, PoolPolicy = PoolPolicyKind.DemandAware }),
    ];

    [Theory]
    [InlineData("steady-churn.json")]
    [InlineData("burst-100.json")]
    [InlineData("scale-to-zero.json")]
    public void Run_SampleTrace_StartsEveryPodWithUniqueAddressesAndReports(string file)
    {
        var trace = WorkloadTrace.Parse(File.ReadAllText(SamplePath(file)));
        var reports = WorkloadSimulator.Run(trace, new SimulationSettings(M54xlarge), Policies);
        foreach (var r in reports)
        {
            r.PodsNeverStarted.Should().Be(0, $"{r.Policy} starts every pod of {file}");
            r.Samples.Should().NotBeEmpty();
            r.Samples.Should().OnlyContain(s => s.Idle >= 0 && s.PoolSize <= 234);
        }
    }

    [Fact]
    public void Run_Burst_DemandAwareWaitsLessWithoutMoreIdleOnAverage()
    {
        var trace = WorkloadTrace.Parse(File.ReadAllText(SamplePath("burst-100.json")));
        var reports = WorkloadSimulator.Run(trace, new SimulationSettings(M54xlarge), Policies);
        var warmEni = reports[0];
        var demand = reports[1];
        demand.WaitP99Seconds.Should().BeLessThan(warmEni.WaitP99Seconds);
        demand.AverageIdle.Should().BeLessThanOrEqualTo(warmEni.AverageIdle);
    }

    [Fact]
    public void Run_Burst100_VpcCniServesTheMedianAtOnceTheRestWithinOneEniLeadTimeOnHalfUpstreamsIdle()
    {
        var trace = WorkloadTrace.Parse(File.ReadAllText(SamplePath("burst-100.json")));
        var settings = new SimulationSettings(M54xlarge);
        var reports = WorkloadSimulator.Run(trace, settings, [SimulationPolicies.Upstream(), SimulationPolicies.VpcCni()]);
        var upstream = reports[0];
        var vpccni = reports[1];
        // One ENI's lead time as modelled: create + attach, then an address assignment.
        var leadTime = (settings.Latencies.CreateAndAttach + settings.Latencies.Assign).TotalSeconds;

        vpccni.PodsNeverStarted.Should().Be(0);
        vpccni.WaitP50Seconds.Should().Be(0, "the warm pool serves the median pod at once");
        vpccni.WaitP99Seconds.Should().BeLessThanOrEqualTo(leadTime, "the pods beyond the warm pool wait for one round of ENIs created together");
        vpccni.AverageIdle.Should().BeLessThanOrEqualTo(0.5 * upstream.AverageIdle);
        upstream.WaitP50Seconds.Should().Be(0);
        upstream.WaitP99Seconds.Should().BeGreaterThan(2 * leadTime, "upstream adds one ENI per 5 s cycle, each taking its lead time");
    }

    [Theory]
    [InlineData("steady-churn.json")]
    [InlineData("scale-to-zero.json")]
    public void Run_OtherSamples_VpcCniStartsEveryPodNoSlowerThanUpstreamOnLessIdle(string file)
    {
        var trace = WorkloadTrace.Parse(File.ReadAllText(SamplePath(file)));
        var reports = WorkloadSimulator.Run(trace, new SimulationSettings(M54xlarge), [SimulationPolicies.Upstream(), SimulationPolicies.VpcCni()]);
        var upstream = reports[0];
        var vpccni = reports[1];

        vpccni.PodsNeverStarted.Should().Be(0);
        vpccni.WaitP99Seconds.Should().BeLessThanOrEqualTo(upstream.WaitP99Seconds);
        vpccni.WaitMaxSeconds.Should().BeLessThanOrEqualTo(upstream.WaitMaxSeconds);
        vpccni.AverageIdle.Should().BeLessThanOrEqualTo(0.5 * upstream.AverageIdle);
    }

    [Fact]
    public void SimulationPolicies_TryGet_KnowsEveryListedNameAndRejectsOthers()
    {
        foreach (var name in SimulationPolicies.Names)
        {
            SimulationPolicies.TryGet(name.ToUpperInvariant(), new IpamOptions { WarmIpTarget = 7 }, out var policy).Should().BeTrue();
            policy.Name.Should().Be(name);
            policy.Options.WarmIpTarget.Should().Be(7, "the node's targets carry over");
        }

        SimulationPolicies.TryGet("fastest", null, out _).Should().BeFalse();
        SimulationPolicies.Upstream().Options.Should().BeEquivalentTo(new
        {
            PoolLoop = PoolLoopMode.FixedInterval,
            PoolInterval = TimeSpan.FromSeconds(5),
            MaxEniCreatesPerRound = 1,
            AssignWaitTimeout = TimeSpan.Zero,
            CountCoolingAsAvailable = true,
            PoolPolicy = PoolPolicyKind.Upstream,
        });
    }

    [Fact]
    public void Parse_NegativeCount_FailsNamingTheEvent()
    {
        var act = () => WorkloadTrace.Parse("{\"events\":[{\"at\":1,\"add\":-3}]}");
        act.Should().Throw<FormatException>().WithMessage("*event 0*");
    }

    [Fact]
    public void SvgChart_Render_ContainsOneSeriesTripletPerPolicy()
    {
        var trace = new WorkloadTrace { Events = [new WorkloadEvent(0, Add: 3)], DurationSeconds = 30 };
        var reports = WorkloadSimulator.Run(trace, new SimulationSettings(M54xlarge), Policies);
        var svg = SvgChart.Render("t", reports);
        svg.Should().StartWith("<svg");
        System.Text.RegularExpressions.Regex.Count(svg, "<polyline").Should().Be(6);
    }
}
