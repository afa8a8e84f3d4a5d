using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>Introspection (127.0.0.1:61679, upstream's paths), Prometheus metrics (:61678, upstream's names) and `status`.</summary>
public sealed class ObservabilityTests
{
    [Fact]
    public async Task Daemon_AfterAnAdd_ServesIntrospectionMetricsAndStatus()
    {
        await using var node = await TestNode.StartAsync("m5.large");
        var pod = await node.CreatePodNamespaceAsync("obs");
        var add = await node.CniAsync("add", "obs1", pod);
        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        var hostVeth = add["result"]!["interfaces"]![0]!["name"]!.GetValue<string>();

        var (status, enis) = await node.HttpGetAsync(61679, "/v1/enis");
        status.Should().Be(200);
        var card = JsonNode.Parse(enis)!["0"]!;
        card["AssignedIPs"]!.GetValue<int>().Should().Be(1);
        card["ENIs"]!.AsObject().Should().NotBeEmpty();

        var (rootStatus, root) = await node.HttpGetAsync(61679, "/");
        rootStatus.Should().Be(200);
        JsonNode.Parse(root)!["AvailableCommands"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Contain(["/v1/enis", "/v1/ipamd-env-settings", "/v1/networkutils-env-settings"]);
        JsonNode.Parse((await node.HttpGetAsync(61679, "/v1/ipamd-env-settings")).Body)!["WARM_ENI_TARGET"]!.GetValue<int>().Should().Be(1);

        var (metricsStatus, metrics) = await node.HttpGetAsync(61678, "/metrics");
        metricsStatus.Should().Be(200);
        metrics.Should().MatchRegex(@"(?m)^awscni_add_ip_req_count(\{[^}]*\})? 1\b", "upstream's counter name, no _total suffix");
        metrics.Should().MatchRegex(@"(?m)^awscni_assigned_ip_addresses(\{[^}]*\})? 1\b");
        metrics.Should().Contain("awscni_eni_allocated").And.Contain("awscni_ec2api_req_count").And.Contain("vpccni_assign_wait_seconds_bucket")
            .And.Contain("vpccni_cloud_call_duration_seconds_bucket");
        metrics.Should().NotContain("otel_scope", "series carry upstream's labels only").And.NotContain("target_info");
        foreach (var name in new[]
        {
            "awscni_ipamd_error_count", "awscni_ipamd_action_inprogress", "awscni_reconcile_count", "awscni_pod_eni_error_count", "awscni_aws_api_latency_ms_count",
            "awscni_force_removed_enis", "awscni_force_removed_ips", "awscni_assigned_ip_per_cidr", "awscni_assigned_ip_per_eni", "awscni_no_available_ip_addresses",
            "awscni_ipamd_node_initialization_duration_seconds_count", "awscni_connmark_backend", "awscni_connmark_reconcile_total", "awscni_build_info",
        })
        {
            metrics.Should().MatchRegex($@"(?m)^{name}(\{{[^}}]*\}})? ", "upstream's metric {0} is served", name);
        }

        // This node runs with --no-host-network: no SNAT reconcile ran, so both pre-created results read 0.
        metrics.Should().MatchRegex(@"(?m)^awscni_connmark_reconcile_total\{result=""success""\} 0\b")
            .And.MatchRegex(@"(?m)^awscni_connmark_reconcile_total\{result=""error""\} 0\b");
        metrics.Should().MatchRegex(@"vpccni_assign_wait_seconds_bucket\{[^}]*le=""0.001""", "second-scale buckets, not the exporter's millisecond defaults")
            .And.MatchRegex(@"vpccni_cloud_call_duration_seconds_bucket\{[^}]*le=""0.25""");

        var (exit, table, error) = await Tools.RunAsync("ip", ["netns", "exec", node.Namespace, Path.Combine(Tools.LabBin, "vpc-cni-ipamd"), "status"]);
        exit.Should().Be(0, error);
        table.Should().Contain("TOTAL").And.Contain("ASSIGNED");

        (await node.CniAsync("del", "obs1", pod))["ok"]!.GetValue<bool>().Should().BeTrue();
        (await Tools.RunAsync("ip", ["-n", node.Namespace, "link", "show", hostVeth])).ExitCode.Should().NotBe(0, "DEL removed the host veth");
        // The exporter caches a scrape for 300 ms: read until the DEL shows or a few seconds have passed.
        var removals = new System.Text.RegularExpressions.Regex(@"(?m)^vpccni_host_veth_removals\{[^}]*outcome=""removed""[^}]*\} 1\b");
        var after = "";
        for (var attempt = 0; attempt < 25 && !removals.IsMatch(after); attempt++)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            after = (await node.HttpGetAsync(61678, "/metrics")).Body;
        }

        after.Should().MatchRegex(removals.ToString(), "the plugin handed the veth to the daemon, which removed it");
    }
}
