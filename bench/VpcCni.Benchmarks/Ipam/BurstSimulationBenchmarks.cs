using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using VpcCni.Cloud;
using VpcCni.Ipam;

namespace VpcCni.Benchmarks.Ipam;

/// <summary>
/// The 100-pod burst trace replayed on the virtual clock (m5.4xlarge, default EC2 latencies) for upstream's timing
/// (5 s loop, one ENI per cycle), VpcCni's burst policy, VpcCni's event-driven controller with WARM_ENI_TARGET=1 and
/// the demand-aware policy. The timing is the simulator's own cost; the extra columns are the simulated outcome
/// (deterministic, recomputed by the columns).
/// </summary>
[Config(typeof(OutcomeConfig))]
public class BurstSimulationBenchmarks
{
    internal static readonly InstanceLimits Instance = new("m5.4xlarge", 8, 30);

    internal static readonly WorkloadTrace Burst = new()
    {
        Name = "100-pod burst",
        DurationSeconds = 600,
        Events = [new WorkloadEvent(0, Add: 5), new WorkloadEvent(60, Add: 100)],
    };

    [Params("upstream", "vpccni", "WARM_ENI_TARGET=1", "demand-aware")]
    public string Policy { get; set; } = "";

    [Benchmark(Description = "replay 100-pod burst")]
    public SimulationReport Replay() => Run(Policy);

    internal static SimulationReport Run(string policy)
    {
        // "WARM_ENI_TARGET=1" is VpcCni's event-driven controller with upstream's policy (the daemon's default).
        var named = SimulationPolicies.TryGet(policy == "WARM_ENI_TARGET=1" ? SimulationPolicies.EventDrivenName : policy, new IpamOptions { WarmEniTarget = 1 }, out var p)
            ? p.Options
            : throw new ArgumentException($"unknown policy {policy}", nameof(policy));
        return WorkloadSimulator.Run(Burst, new SimulationSettings(Instance), policy, named);
    }

    private sealed class OutcomeConfig : ManualConfig
    {
        public OutcomeConfig()
        {
            AddColumn(
                new OutcomeColumn("EC2 calls", r => r.Ec2MutatingCalls.ToString()),
                new OutcomeColumn("avg idle", r => r.AverageIdle.ToString("0.0")),
                new OutcomeColumn("peak idle", r => r.PeakIdle.ToString()),
                new OutcomeColumn("wait p50", r => $"{r.WaitP50Seconds:0.00}s"),
                new OutcomeColumn("wait p99", r => $"{r.WaitP99Seconds:0.00}s"),
                new OutcomeColumn("wait max", r => $"{r.WaitMaxSeconds:0.00}s"));
        }
    }

    private sealed class OutcomeColumn(string name, Func<SimulationReport, string> value) : IColumn
    {
        public string Id => "sim-" + name;

        public string ColumnName => name;

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => false;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "simulated outcome of the burst trace";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            value(Run((string)benchmarkCase.Parameters["Policy"]));

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
