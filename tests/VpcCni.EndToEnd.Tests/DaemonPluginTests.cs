using System.Collections.Concurrent;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>The published daemon (real AWS provider against the loopback emulator) and the published plugin, driven by libcni.</summary>
public sealed class DaemonPluginTests
{
    [Fact]
    public async Task Plugin_GrpcNetFallbackAskedOfTheDefaultBuild_RefusedWithCode4NamingTheBuildSwitch()
    {
        // The published plugin leaves Grpc.Net.Client out (trimmed by a feature switch); asking for it must say how to
        // get it, not fall back silently to the lean client.
        var plugin = Path.Combine(Tools.LabBin, "vpc-cni");
        var (exit, stdout, stderr) = await Tools.RunAsync("bash", ["-c", $"printf '%s' '{{\"cniVersion\":\"1.0.0\",\"name\":\"aws-cni\",\"type\":\"vpc-cni\"}}' | '{plugin}'"],
            new Dictionary<string, string>
            {
                ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/run/netns/none", ["CNI_IFNAME"] = "eth0",
                ["CNI_PATH"] = "/opt/cni/bin", ["VPC_CNI_PLUGIN_GRPC_CLIENT"] = "grpcnet",
            });

        exit.Should().Be(1, stderr);
        stdout.Should().Contain("\"code\":4").And.Contain("-p:VpcCniGrpcNetFallback=true");
    }

    [Fact]
    public async Task Smoke_OurConflistWithPortmap_PassesTheLibcniLifecycle()
    {
        await using var node = await TestNode.StartAsync();

        // smoke.sh runs inside the node namespace: the plugin wires the node, never the machine's root namespace.
        var (exit, stdout, stderr) = await Tools.RunAsync("ip",
            ["netns", "exec", node.Namespace, "bash", Tools.SmokeScript, "--driver", Tools.CniDriver, "--conflist", node.Conflist,
             "--plugin-dir", node.PluginDirectory, "--cap-args", """{"io.kubernetes.cri.pod-annotations":{},"portMappings":[{"hostPort":18090,"containerPort":80,"protocol":"tcp"}]}"""],
            timeout: TimeSpan.FromMinutes(3));

        exit.Should().Be(0, $"smoke.sh output:\n{stdout}\n{stderr}");
        stdout.Should().MatchRegex(@"smoke: \d+ passed, 0 failed");
    }

    [Fact]
    public async Task AddDel_DaemonWiringOptedIn_TheDaemonWiresAndTearsDownThePod()
    {
        await using var node = await TestNode.StartAsync(environment: new() { ["VPC_CNI_DAEMON_POD_WIRING"] = "true" });
        var pod = await node.CreatePodNamespaceAsync("dw");

        var add = await node.CniAsync("add", "dw1", pod);

        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        var hostVeth = add["result"]!["interfaces"]![0]!["name"]!.GetValue<string>();
        var address = add["result"]!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        var podAddresses = await Tools.RunAsync("ip", ["-n", pod, "-4", "addr", "show", "eth0"]);
        podAddresses.Stdout.Should().Contain(address + "/32");
        (await Tools.RunAsync("ip", ["-n", node.Namespace, "link", "show", hostVeth])).ExitCode.Should().Be(0);
        (await File.ReadAllTextAsync(Path.Combine(node.Directory, "log", "ipamd.log"))).Should().Contain($"wired dw1/eth0 ({address}, veth {hostVeth}) for the plugin");

        var del = await node.CniAsync("del", "dw1", pod);

        del["ok"]!.GetValue<bool>().Should().BeTrue(del.ToJsonString());
        (await Tools.RunAsync("ip", ["-n", node.Namespace, "link", "show", hostVeth])).ExitCode.Should().NotBe(0, "the daemon removed the host veth");
        (await node.GetAttachmentAsync("dw1")).Found.Should().BeFalse();
    }

    [Fact]
    public async Task Add_100Concurrent_EveryPodGetsADistinctAddress()
    {
        await using var node = await TestNode.StartAsync();
        var pods = new List<(string Id, string Ns)>();
        for (var i = 0; i < 100; i++)
        {
            pods.Add(($"storm{i:D3}", await node.CreatePodNamespaceAsync($"p{i:D3}")));
        }

        var addresses = new ConcurrentDictionary<string, string>();
        var failures = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 100 }, async (pod, ct) =>
        {
            var result = await node.CniAsync("add", pod.Id, pod.Ns, ct);
            if (result["ok"]?.GetValue<bool>() == true)
            {
                addresses[pod.Id] = result["result"]!["ips"]![0]!["address"]!.GetValue<string>();
            }
            else
            {
                failures.Add($"{pod.Id}: {result["error"]?.ToJsonString()}");
            }
        });

        failures.Should().BeEmpty();
        addresses.Should().HaveCount(100);
        addresses.Values.Distinct().Should().HaveCount(100, "no address may be handed out twice");

        await Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (pod, ct) =>
            (await node.CniAsync("del", pod.Id, pod.Ns, ct))["ok"]!.GetValue<bool>().Should().BeTrue());
        (await node.GetAttachmentAsync(pods[0].Id)).Found.Should().BeFalse();
    }

    [Fact]
    public async Task Daemon_SigkillDuringAddStorm_LosesNoAllocationAndHandsOutNoAddressTwice()
    {
        await using var node = await TestNode.StartAsync();
        var pods = new List<(string Id, string Ns)>();
        for (var i = 0; i < 40; i++)
        {
            pods.Add(($"crash{i:D3}", await node.CreatePodNamespaceAsync($"c{i:D3}")));
        }

        var acknowledged = new ConcurrentDictionary<string, string>();
        var completed = 0;
        var storm = Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (pod, ct) =>
        {
            var result = await node.CniAsync("add", pod.Id, pod.Ns, ct);
            if (result["ok"]?.GetValue<bool>() == true)
            {
                acknowledged[pod.Id] = result["result"]!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
            }

            Interlocked.Increment(ref completed);
        });

        while (Volatile.Read(ref completed) < 12)
        {
            await Task.Delay(20);
        }

        node.KillDaemon();
        await storm;
        acknowledged.Should().NotBeEmpty();
        acknowledged.Count.Should().BeLessThan(pods.Count, "some ADDs must have hit the dead daemon for this test to mean anything");

        await node.StartDaemonAsync();

        // Every acknowledged ADD is still recorded with the same address.
        foreach (var (id, address) in acknowledged)
        {
            var record = await node.GetAttachmentAsync(id);
            record.Found.Should().BeTrue($"{id} was acknowledged before the crash");
            record.IPv4Addr.Should().Be(address);
        }

        // The runtime retries the failed ADDs (after a DEL, as kubelet does); all addresses stay distinct.
        var all = new ConcurrentDictionary<string, string>(acknowledged);
        foreach (var pod in pods.Where(p => !acknowledged.ContainsKey(p.Id)))
        {
            (await node.CniAsync("del", pod.Id, pod.Ns))["ok"]!.GetValue<bool>().Should().BeTrue();
            var retry = await node.CniAsync("add", pod.Id, pod.Ns);
            retry["ok"]!.GetValue<bool>().Should().BeTrue(retry.ToJsonString());
            all[pod.Id] = retry["result"]!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        }

        all.Should().HaveCount(pods.Count);
        all.Values.Distinct().Should().HaveCount(pods.Count, "no address may be handed out twice across the crash");
    }

    [Fact]
    public async Task Daemon_SigtermAfterServing_ExitsCleanlyKeepsRecordAndRemovesSocket()
    {
        await using var node = await TestNode.StartAsync("m5.large");
        var pod = await node.CreatePodNamespaceAsync("term");
        var add = await node.CniAsync("add", "term1", pod);
        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        var address = add["result"]!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];

        var exit = await node.StopDaemonGracefullyAsync();

        exit.Should().Be(0, "SIGTERM stops growth, compacts the record and exits cleanly");
        File.Exists(node.Socket).Should().BeFalse();
        File.ReadAllText(Path.Combine(node.Directory, "ipam.json")).Should().Contain(address, "the compacted checkpoint holds the live allocation");

        await node.StartDaemonAsync();
        (await node.GetAttachmentAsync("term1")).IPv4Addr.Should().Be(address);
        (await node.CniAsync("del", "term1", pod))["ok"]!.GetValue<bool>().Should().BeTrue();
    }
}
