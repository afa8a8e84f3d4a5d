using System.Net;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;

namespace VpcCni.Benchmarks.Ipam;

/// <summary>
/// Durable-record latency: one invocation = one journal append made durable (fsync), or 32 concurrent appends that
/// group-commit. Each iteration is a single invocation so the percentile columns are per-operation latencies.
/// </summary>
[Config(typeof(LatencyConfig))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 20, iterationCount: 300, invocationCount: 1)]
public class DurableRecordBenchmarks
{
    private string _dir = null!;
    private DurableAllocationStore _store = null!;
    private AllocationRecord[] _records = null!;
    private int _next;

    [Params(1, 32)]
    public int Writers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Environment.CurrentDirectory, $"ipam-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
        _store = new DurableAllocationStore(Path.Combine(_dir, "ipam.json"), compactEvery: 1_000_000);
        _store.Load();
        _records = [.. Enumerable.Range(0, 32).Select(i => new AllocationRecord(new AttachmentKey("aws-cni", $"c{i}", "eth0"), new PodAddress((uint)(0x0A000000 + i)), 1, new PodMetadata("default", $"p{i}", 1)))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "durable append (writers concurrently)")]
    public Task Append()
    {
        if (Writers == 1)
        {
            return (_next++ & 1) == 0 ? _store.AppendAssignAsync(_records[0], CancellationToken.None) : _store.AppendUnassignAsync(_records[0].Key, CancellationToken.None);
        }

        var tasks = new Task[Writers];
        for (var i = 0; i < Writers; i++)
        {
            var r = _records[i];
            tasks[i] = Task.Run(() => _store.AppendAssignAsync(r, CancellationToken.None));
        }

        return Task.WhenAll(tasks);
    }

    private sealed class LatencyConfig : ManualConfig
    {
        public LatencyConfig()
        {
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, new P99Column(), StatisticColumn.Max);
        }
    }

    private sealed class P99Column : IColumn
    {
        public string Id => "P99";

        public string ColumnName => "P99";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Statistics;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Time;

        public string Legend => "99th percentile of per-operation latency";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            return stats is null ? "NA" : $"{stats.Percentiles.Percentile(99) / 1000.0:0.0} us";
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
