using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Daemon;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// The daemon's /metrics as an operator's Prometheus scrapes it: the executable's export (MetricsExport) over a live node
/// on the simulated cloud. Every metric of upstream's aws-node is there with its label names, and nothing else is
/// added to the series (no otel_scope_* labels, no target_info).
/// The exporter listens to every meter of the daemon's name in the process, so these tests run alone: another test's
/// node adding pods at the same time would count in this daemon's series.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricsEndpointTests
{
    /// <summary>Upstream's metrics (utils/prometheusmetrics) and their label names; histograms and summaries are checked through _count.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Upstream = new Dictionary<string, string[]>
    {
        ["awscni_ipamd_error_count"] = ["fn"],
        ["awscni_ipamd_action_inprogress"] = ["fn"],
        ["awscni_eni_max"] = [],
        ["awscni_ip_max"] = [],
        ["awscni_reconcile_count"] = ["fn"],
        ["awscni_add_ip_req_count"] = [],
        ["awscni_del_ip_req_count"] = ["reason"],
        ["awscni_pod_eni_error_count"] = ["fn"],
        ["awscni_aws_api_latency_ms_count"] = ["api", "error", "status"],
        ["awscni_aws_api_error_count"] = ["api", "error"],
        ["awscni_aws_utils_error_count"] = ["error", "fn"],
        ["awscni_ec2api_req_count"] = ["fn"],
        ["awscni_ec2api_error_count"] = ["fn"],
        ["awscni_eni_allocated"] = [],
        ["awscni_total_ip_addresses"] = [],
        ["awscni_assigned_ip_addresses"] = [],
        ["awscni_force_removed_enis"] = [],
        ["awscni_force_removed_ips"] = [],
        ["awscni_total_ipv4_prefixes"] = [],
        ["awscni_assigned_ip_per_cidr"] = ["cidr"],
        ["awscni_no_available_ip_addresses"] = [],
        ["awscni_assigned_ip_per_eni"] = ["eni"],
        ["awscni_ipamd_startup_duration_seconds_count"] = ["failure_reason", "success", "with_api_server"],
        ["awscni_ipamd_node_initialization_duration_seconds_count"] = ["success"],
        ["awscni_connmark_backend"] = ["backend"],
        ["awscni_connmark_reconcile_total"] = ["result"],
        ["awscni_build_info"] = ["goversion", "version"],
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_LiveDaemon_ServesEveryUpstreamMetricWithItsLabelNames()
    {
        await using var daemon = await MetricsDaemon.StartAsync(Ct);

        var series = Parse(await daemon.ScrapeUntilAsync(text => text.Contains("awscni_aws_utils_error_count", StringComparison.Ordinal), Ct));

        Upstream.Should().HaveCount(27, "upstream's table: 26 metrics plus awscni_build_info");
        foreach (var (name, labels) in Upstream)
        {
            series.Should().ContainKey(name);
            series[name].Should().Contain(s => s.SetEquals(labels), $"{name} carries upstream's labels [{string.Join(", ", labels)}]");
        }
    }

    [Fact]
    public async Task Metrics_LiveDaemon_NoSeriesCarriesOpenTelemetryLabelsOrTargetInfo()
    {
        await using var daemon = await MetricsDaemon.StartAsync(Ct);

        var text = await daemon.ScrapeUntilAsync(t => t.Contains("awscni_add_ip_req_count", StringComparison.Ordinal), Ct);
        var series = Parse(text);

        series.Should().NotBeEmpty();
        series.SelectMany(s => s.Value).SelectMany(labels => labels).Should().NotContain(label => label.StartsWith("otel_", StringComparison.Ordinal));
        series.Keys.Should().NotContain("target_info");
        text.Should().NotContain("otel_scope");
    }

    [Fact]
    public async Task Metrics_LiveDaemon_FeedsPoolEventsAndCloudCallsWithUpstreamValues()
    {
        await using var daemon = await MetricsDaemon.StartAsync(Ct);

        var text = await daemon.ScrapeUntilAsync(t => t.Contains("eniIPPoolReconcileDel\"} 1", StringComparison.Ordinal), Ct);

        text.Should().MatchRegex(@"(?m)^awscni_add_ip_req_count(\{\})? 1\b")
            .And.MatchRegex(@"(?m)^awscni_del_ip_req_count\{reason=""PodDeleted""\} 1\b")
            .And.MatchRegex(@"(?m)^awscni_reconcile_count\{fn=""eniIPPoolReconcileDel""\} 1\b", "the reconcile found one address unassigned behind the pool's back")
            .And.MatchRegex(@"(?m)^awscni_ipamd_error_count\{fn=""increaseIPPoolAllocENI""\} 0\b", "error series exist at 0 from the start")
            .And.MatchRegex(@"(?m)^awscni_ipamd_action_inprogress\{fn=""nodeInit""\} 0\b", "initialisation ended")
            .And.MatchRegex(@"(?m)^awscni_reconcile_count\{fn=""eniReconcileAdd""\} 0\b", "loading the ENIs at start is no reconcile")
            .And.MatchRegex(@"(?m)^awscni_ipamd_node_initialization_duration_seconds_count\{success=""true""\} 1\b")
            .And.MatchRegex(@"(?m)^awscni_aws_utils_error_count\{(?=[^}]*fn=""FreeENIDeleteErr"")[^}]*\} 1\b", "the refused ENI delete")
            .And.MatchRegex(@"(?m)^awscni_aws_api_latency_ms_count\{(?=[^}]*api=""DescribeNetworkInterfaces"")(?=[^}]*error=""false"")(?=[^}]*status=""200"")[^}]*\} \d+")
            .And.MatchRegex(@"(?m)^awscni_connmark_backend\{backend=""iptables""\} 0\b", "a simulated node manages no host network")
            .And.MatchRegex(@"(?m)^awscni_connmark_reconcile_total\{result=""error""\} 0\b")
            .And.MatchRegex(@"(?m)^awscni_build_info\{(?=[^}]*goversion=""\.NET [^""]+"")[^}]*\} 1\b")
            .And.MatchRegex(@"(?m)^awscni_assigned_ip_per_eni\{eni=""eni-[^""]+""\} \d+")
            .And.MatchRegex(@"(?m)^awscni_force_removed_enis(\{\})? 0\b");
    }

    /// <summary>Series names (histograms: their _bucket/_sum/_count lines) → the label-name sets seen, le excluded.</summary>
    internal static Dictionary<string, List<HashSet<string>>> Parse(string exposition)
    {
        var series = new Dictionary<string, List<HashSet<string>>>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SeriesLine().Match(line);
            match.Success.Should().BeTrue($"'{line}' is a Prometheus text exposition line");
            var labels = LabelName().Matches(match.Groups["labels"].Value).Select(m => m.Groups[1].Value).Where(l => l != "le").ToHashSet(StringComparer.Ordinal);
            if (!series.TryGetValue(match.Groups["name"].Value, out var sets))
            {
                series[match.Groups["name"].Value] = sets = [];
            }

            if (!sets.Any(s => s.SetEquals(labels)))
            {
                sets.Add(labels);
            }
        }

        return series;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? \S+( \d+)?$")]
    private static partial Regex SeriesLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""(?:[^""\\]|\\.)*""")]
    private static partial Regex LabelName();

    /// <summary>
    /// The executable's metrics export on a loopback port, then a node on the simulated cloud that served an ADD and a
    /// DEL, reconciled an address unassigned behind its back, and had an ENI delete refused (the primary ENI).
    /// </summary>
    private sealed class MetricsDaemon : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly IpamdNode _node;
        private readonly string _directory;
        private readonly HttpClient _http = new();
        private readonly int _port;

        private MetricsDaemon(WebApplication app, IpamdNode node, string directory, int port)
        {
            _app = app;
            _node = node;
            _directory = directory;
            _port = port;
        }

        public static async Task<MetricsDaemon> StartAsync(CancellationToken cancellationToken)
        {
            var port = FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http1));
            builder.Services.AddDaemonMetricsExport();
            var app = builder.Build();
            app.MapDaemonMetrics(port);
            await app.StartAsync(cancellationToken);

            var directory = Directory.CreateTempSubdirectory("vpccni-metrics-").FullName;
            var settings = new DaemonSettings
            {
                Cloud = CloudKind.Simulated,
                ManageHostNetwork = false,
                CheckpointPath = Path.Combine(directory, "ipam.json"),
            };
            var cluster = SimulatedCluster.Create("m5.large");
            var container = new ServiceCollection()
                .AddSingleton<IEniProvider>(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId))
                .AddSingleton<INodeNetwork>(new NoNodeNetwork())
                .AddSingleton(TimeProvider.System)
                .AddVpcCniDaemon(settings)
                .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
            var node = container.GetRequiredService<IpamdNode>();
            node.OwnContainer(container);
            var daemon = new MetricsDaemon(app, node, directory, port);
            try
            {
                await node.StartAsync(cancellationToken);
                var add = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "m1", IfName = "eth0", K8SPODNAME = "p", K8SPODNAMESPACE = "default" }, cancellationToken);
                add.Success.Should().BeTrue(add.FailureReason);
                (await node.DelNetworkAsync(new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "m1", IfName = "eth0" }, cancellationToken)).Success.Should().BeTrue();

                var primary = node.Controller.Datastore.GetEniStates().Single(e => e.IsPrimary).Id;
                cluster.Vpc.UnassignPrivateIpAddresses(primary, [node.Controller.Datastore.GetCidrs(primary)[^1]]);
                await node.Controller.ReconcileWithCloudAsync(cancellationToken);

                var poolCloud = container.GetRequiredKeyedService<IEniProvider>(IpamServiceCollectionExtensions.PoolCloudKey);
                var refused = async () => await poolCloud.DetachAndDeleteEniAsync(primary, cancellationToken);
                await refused.Should().ThrowAsync<CloudException>();
                return daemon;
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
        }

        /// <summary>Scrapes until the text satisfies <paramref name="ready"/> (the exporter caches a scrape for 300 ms) or 10 s passed.</summary>
        public async Task<string> ScrapeUntilAsync(Func<string, bool> ready, CancellationToken cancellationToken)
        {
            var text = "";
            for (var attempt = 0; attempt < 50; attempt++)
            {
                text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{_port}/metrics"), cancellationToken);
                if (ready(text))
                {
                    break;
                }

                await Task.Delay(200, cancellationToken);
            }

            return text;
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _node.DisposeAsync();
            await _app.StopAsync();
            await _app.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
