using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Deploy;

/// <summary>deploy/grafana-dashboard.json is an importable dashboard whose queries use only metrics the daemon exports.</summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public void Dashboard_EveryQuery_UsesOnlyMetricsTheDaemonExports()
    {
        var exported = ExportedSeriesNames();
        var expressions = Expressions(Dashboard());

        expressions.Should().NotBeEmpty();
        foreach (var expr in expressions)
        {
            var names = MetricName().Matches(LabelMatchers().Replace(expr, "")).Select(m => m.Value).ToList();
            names.Should().NotBeEmpty($"'{expr}' queries a daemon metric");
            names.Should().OnlyContain(n => exported.Contains(n), $"'{expr}' must use exported names (the daemon exports: {string.Join(", ", exported.Order())})");
        }
    }

    [Fact]
    public void Dashboard_Json_IsAnImportableDashboardWithTheOperatorPanels()
    {
        var dashboard = Dashboard();

        dashboard["title"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        dashboard["uid"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        dashboard["schemaVersion"]!.GetValue<int>().Should().BePositive();
        var panels = dashboard["panels"]!.AsArray();
        panels.Select(p => p!["id"]!.GetValue<int>()).Should().OnlyHaveUniqueItems();
        var expressions = string.Join('\n', Expressions(dashboard));
        foreach (var metric in new[]
        {
            "awscni_eni_allocated", "awscni_eni_max", "awscni_total_ip_addresses", "awscni_assigned_ip_addresses", "awscni_no_available_ip_addresses",
            "awscni_add_ip_req_count", "awscni_del_ip_req_count", "awscni_ec2api_req_count", "awscni_ec2api_error_count", "awscni_aws_api_latency_ms_sum",
            "awscni_ipamd_error_count", "awscni_reconcile_count", "awscni_ipamd_startup_duration_seconds_sum",
        })
        {
            expressions.Should().Contain(metric);
        }
    }

    /// <summary>The series names the daemon's instruments export: counters and gauges as named, histograms as _bucket, _sum and _count.</summary>
    private static HashSet<string> ExportedSeriesNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name != IpamdMetrics.MeterName)
            {
                return;
            }

            if (instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal))
            {
                names.UnionWith([instrument.Name + "_bucket", instrument.Name + "_sum", instrument.Name + "_count"]);
            }
            else
            {
                names.Add(instrument.Name);
            }
        };
        using var metrics = new IpamdMetrics();
        listener.Start();
        return names;
    }

    private static JsonNode Dashboard()
    {
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "VpcCni.sln")))
        {
            repo = Path.GetDirectoryName(repo)!;
        }

        return JsonNode.Parse(File.ReadAllText(Path.Combine(repo, "deploy", "grafana-dashboard.json")))!;
    }

    private static List<string> Expressions(JsonNode dashboard) =>
        [.. dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => t!["expr"]!.GetValue<string>())];

    /// <summary>The daemon's prefixes: PromQL functions, keywords and label names never carry them.</summary>
    [GeneratedRegex(@"\b(?:awscni|vpccni)_[a-zA-Z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();
}
