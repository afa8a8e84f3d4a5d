using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>The README's main job as a test: a two-node lab proves the five paths and leaves nothing behind.</summary>
public sealed class LabTests
{
    [Fact]
    public async Task Run_TwoNodes_AllFivePathsPassAndNothingIsLeftBehind()
    {
        var paths = await RunLabAsync("/run/vpclab-e2e", TimeSpan.FromMinutes(8), "--nodes", "2", "--pods-per-node", "4");

        ShouldProveTheFivePaths(paths);
        paths.Should().Contain(p => p!["path"]!.GetValue<string>().Contains("secondary ENI", StringComparison.Ordinal));
        Rows(paths, "5 ").Should().OnlyContain(p => p!["seen"]!.GetValue<string>() == p["expected"]!.GetValue<string>());
        Rows(paths, "pod-ips annotation").Should().HaveCount(8, "every pod is registered in the Kubernetes API and annotated");
    }

    [Fact]
    public async Task Run_CustomNetworking_PodsAreAddressedFromTheEniConfigSubnetAndEveryPathPasses()
    {
        var paths = await RunLabAsync("/run/vpclab-e2e-cn", TimeSpan.FromMinutes(8), "--custom-networking", "--nodes", "2", "--pods-per-node", "3");

        ShouldProveTheFivePaths(paths);
        Rows(paths, "address from ENIConfig subnet").Should().HaveCount(6).And.OnlyContain(p => p!["seen"]!.GetValue<string>().StartsWith("100.64.", StringComparison.Ordinal));
        Rows(paths, "5 ").Should().OnlyContain(p => p!["seen"]!.GetValue<string>().StartsWith("10.0.", StringComparison.Ordinal), "the internet path SNATs to the node's primary address");
        Rows(paths, "CNINode feature").Should().HaveCount(2);
    }

    [Fact]
    public async Task Run_PrefixDelegation_PodsPastTheSecondaryIpMaxPodsComeFromPrefixes()
    {
        // t3.small's secondary-IP max pods is 11; with the nodes' capacity 110 (the default with --prefix-delegation) 14
        // pods per node are served, all from /28 prefixes, and the pools give the free prefixes back.
        var paths = await RunLabAsync("/run/vpclab-e2e-pd", TimeSpan.FromMinutes(10), "--prefix-delegation", "--nodes", "2", "--pods-per-node", "14");

        ShouldProveTheFivePaths(paths);
        Rows(paths, "address from a /28 prefix").Should().HaveCount(28).And.OnlyContain(p => p!["seen"]!.GetValue<string>().EndsWith("/28", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_FragmentedSubnet_FallsBackToSlash32AndReturnsToPrefixes()
    {
        var paths = await RunLabAsync("/run/vpclab-e2e-frag", TimeSpan.FromMinutes(14), "--fragmented-subnet", "--nodes", "2", "--pods-per-node", "3");

        Rows(paths, "address from a /32 (fallback)").Should().HaveCount(6);
        Rows(paths, "fallback to /32 (InsufficientCidrBlocks)").Should().HaveCount(2);
        Rows(paths, "return to prefixes").Should().HaveCount(2);
        Rows(paths, "address from a /28 after the return").Should().HaveCount(2);
    }

    [Fact]
    public async Task Run_IPv6_PodsTalkOverIPv6WithTheirOwnAddressAndReachIPv4ThroughEgressCni()
    {
        var (paths, drain) = await RunLabWithDrainAsync("/run/vpclab-e2e-v6", TimeSpan.FromMinutes(5), "--ipv6", "--nodes", "2", "--pods-per-node", "2");

        Rows(paths, "1 ").Should().NotBeEmpty().And.OnlyContain(p => IsIPv6(p!["seen"]!));
        Rows(paths, "2 ").Should().NotBeEmpty().And.OnlyContain(p => IsIPv6(p!["seen"]!));
        Rows(paths, "3 ").Should().HaveCount(4).And.OnlyContain(p => p!["to"]!.GetValue<string>().EndsWith("fd00:ec2:0:c8::10", StringComparison.Ordinal));
        Rows(paths, "5 ").Should().HaveCount(4, "the IPv6 internet host sees each pod's own /128")
            .And.OnlyContain(p => p!["to"]!.GetValue<string>().EndsWith("2001:db8:100::10", StringComparison.Ordinal) && p["seen"]!.GetValue<string>().StartsWith("fd00:ec2:", StringComparison.Ordinal));
        Rows(paths, "6 ").Should().HaveCount(4, "the IPv4-only internet host is reached through egress-cni with the node's IPv4")
            .And.OnlyContain(p => p!["to"]!.GetValue<string>().EndsWith("198.51.100.10", StringComparison.Ordinal) && p["seen"]!.GetValue<string>().StartsWith("10.0.", StringComparison.Ordinal));
        Rows(paths, "4 ").Should().BeEmpty();
        Rows(paths, "address from the node's /80 prefix").Should().HaveCount(4);
        Rows(paths, "egress-cni interface").Should().HaveCount(4).And.OnlyContain(p => p!["to"]!.GetValue<string>() == "v4if0");
        drain.Should().Contain(d => d!.GetValue<string>().StartsWith("node 2: no CNI-E4-/CNI-E6- chain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_V6Egress_IPv4PodsReachTheIPv6InternetWithTheNodesIPv6()
    {
        var (paths, drain) = await RunLabWithDrainAsync("/run/vpclab-e2e-v6e", TimeSpan.FromMinutes(5), "--v6-egress", "--nodes", "2", "--pods-per-node", "2");

        ShouldProveTheFivePaths(paths);
        Rows(paths, "6 ").Should().HaveCount(4)
            .And.OnlyContain(p => p!["to"]!.GetValue<string>().EndsWith("2001:db8:100::10", StringComparison.Ordinal) && p["seen"]!.GetValue<string>().StartsWith("fd00:ec2::", StringComparison.Ordinal),
                "the IPv6 internet host sees the node's IPv6 (SNAT by egress-cni), not the pod's fd00::ac: address");
        Rows(paths, "egress-cni interface").Should().HaveCount(4).And.OnlyContain(p => p!["to"]!.GetValue<string>() == "v6if0");
        drain.Should().Contain(d => d!.GetValue<string>().StartsWith("node 1: no CNI-E4-/CNI-E6- chain", StringComparison.Ordinal));
    }

    private static bool IsIPv6(JsonNode seen) =>
        System.Net.IPAddress.TryParse(seen.GetValue<string>(), out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    /// <summary>`vpc-cni-lab run OPTIONS --json`: exits 0, every row passed, nothing left behind; returns the rows.</summary>
    private static async Task<JsonArray> RunLabAsync(string workDir, TimeSpan timeout, params string[] options) =>
        (await RunLabWithDrainAsync(workDir, timeout, options)).Paths;

    /// <summary><see cref="RunLabAsync"/>, also returning the drain report (what was audited after every DEL).</summary>
    private static async Task<(JsonArray Paths, JsonArray Drain)> RunLabWithDrainAsync(string workDir, TimeSpan timeout, params string[] options)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            [Tools.Lab, "run", .. options, "--json", "--bin-dir", Tools.LabBin, "--cnidriver", Tools.CniDriver, "--work-dir", workDir], timeout: timeout);

        exit.Should().Be(0, $"lab output:\n{stdout}\n{stderr}");
        var report = JsonNode.Parse(stdout.Split('\n').Last(l => l.StartsWith('{')))!;
        report["passed"]!.GetValue<bool>().Should().BeTrue();
        var paths = report["paths"]!.AsArray();
        paths.Should().OnlyContain(p => p!["passed"]!.GetValue<bool>());
        Directory.GetFiles("/run/netns", "vpclab-*").Should().BeEmpty("the lab removes every namespace it made");
        Directory.Exists(workDir).Should().BeFalse();
        return (paths, report["drain"]!.AsArray());
    }

    private static void ShouldProveTheFivePaths(JsonArray paths)
    {
        foreach (var number in new[] { "1 ", "2 ", "3 ", "4 ", "5 " })
        {
            Rows(paths, number).Should().NotBeEmpty($"path {number}is proved");
        }
    }

    /// <summary>The rows of one check: by exact name, or by number ("5 ") for the five paths.</summary>
    private static List<JsonNode?> Rows(JsonArray paths, string name) =>
        [.. paths.Where(p => p!["path"]!.GetValue<string>() is var path && (path == name || (name.EndsWith(' ') && path.StartsWith(name, StringComparison.Ordinal))))];

    [Fact]
    public async Task UpVerifyDown_UpReturnsOnceReadyRefusesASecondLabOfItsNameAndANamedLabRunsBeside()
    {
        var workDir = "/run/vpclab-e2e-up";
        string[] common = ["--bin-dir", Tools.LabBin, "--cnidriver", Tools.CniDriver];
        try
        {
            var up = await Tools.RunAsync("dotnet", [Tools.Lab, "up", "--nodes", "2", "--pods-per-node", "2", "--json", "--work-dir", workDir, .. common], timeout: TimeSpan.FromMinutes(4));
            up.ExitCode.Should().Be(0, up.Stdout + up.Stderr);
            var state = JsonNode.Parse(up.Stdout.Split('\n').Single(l => l.StartsWith('{')))!;
            state["nodes"]!.AsArray().Should().HaveCount(2);
            state["nodes"]![0]!["daemonSocket"]!.GetValue<string>().Should().StartWith(workDir);
            state["hosts"]!["internet"]!["address"]!.GetValue<string>().Should().Be("198.51.100.10");
            var labPid = state["pid"]!.GetValue<int>();
            File.Exists($"/proc/{labPid}/cmdline").Should().BeTrue("`up` returned and left the lab running in the background");

            var second = await Tools.RunAsync("dotnet", [Tools.Lab, "up", "--nodes", "1", .. common], timeout: TimeSpan.FromMinutes(1));
            second.ExitCode.Should().Be(3, second.Stdout + second.Stderr);
            second.Stderr.Should().Contain($"a lab named \"vpclab\" is live (process {labPid})");
            Directory.GetFiles("/run/netns", "vpclab-node1").Should().ContainSingle("the refused lab touched nothing of the live one");

            var beside = await Tools.RunAsync("dotnet", [Tools.Lab, "up", "--name", "e2eb", "--nodes", "1", "--pods-per-node", "1", .. common], timeout: TimeSpan.FromMinutes(4));
            beside.ExitCode.Should().Be(0, beside.Stdout + beside.Stderr);
            Directory.GetFiles("/run/netns", "e2eb-*").Should().NotBeEmpty();

            var verify = await Tools.RunAsync("dotnet", [Tools.Lab, "verify", "--work-dir", workDir], timeout: TimeSpan.FromMinutes(3));
            verify.ExitCode.Should().Be(0, verify.Stdout + verify.Stderr);
            verify.Stdout.Should().Contain("PASS");
            var verifyBeside = await Tools.RunAsync("dotnet", [Tools.Lab, "verify", "--name", "e2eb"], timeout: TimeSpan.FromMinutes(3));
            verifyBeside.ExitCode.Should().Be(0, verifyBeside.Stdout + verifyBeside.Stderr);

            var downBeside = await Tools.RunAsync("dotnet", [Tools.Lab, "down", "--name", "e2eb"], timeout: TimeSpan.FromMinutes(2));
            downBeside.ExitCode.Should().Be(0, downBeside.Stdout + downBeside.Stderr);
            Directory.GetFiles("/run/netns", "e2eb-*").Should().BeEmpty();
            Directory.GetFiles("/run/netns", "vpclab-*").Should().NotBeEmpty("a lab's down leaves labs of other names alone");
        }
        finally
        {
            await Tools.RunAsync("dotnet", [Tools.Lab, "down", "--name", "e2eb"], timeout: TimeSpan.FromMinutes(2));
            var down = await Tools.RunAsync("dotnet", [Tools.Lab, "down", "--work-dir", workDir], timeout: TimeSpan.FromMinutes(2));
            down.ExitCode.Should().Be(0, down.Stdout + down.Stderr);
        }

        Directory.GetFiles("/run/netns", "vpclab-*").Should().BeEmpty();
        Directory.Exists(workDir).Should().BeFalse();
        File.Exists("/run/vpc-cni-lab.vpclab.lock").Should().BeFalse();
    }

    [Fact]
    public async Task Run_StepFails_ReportsTheStepTearsDownAndExitsNonZero()
    {
        // t3.small has room for 9 pod addresses (3 ENIs × 3): a later ADD must fail, and the lab must say so and clean up.
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            [Tools.Lab, "run", "--nodes", "1", "--pods-per-node", "12", "--instance-type", "t3.small", "--bin-dir", Tools.LabBin, "--cnidriver", Tools.CniDriver, "--work-dir", "/run/vpclab-e2e-fail"],
            timeout: TimeSpan.FromMinutes(6));

        exit.Should().NotBe(0, stdout + stderr);
        stdout.Should().MatchRegex("FAIL at step \"node 1: ADD pod 1[0-2] through the plugin");
        stdout.Should().Contain("tear down");
        Directory.GetFiles("/run/netns", "vpclab-*").Should().BeEmpty();
        Directory.Exists("/run/vpclab-e2e-fail").Should().BeFalse();
    }

    [Fact]
    public async Task Chaos_ShortRun_NothingLostDuplicatedOrLeaked()
    {
        // A short storm in CI (the default five-minute run is in docs/benchmarks.md); a fixed seed makes it repeatable.
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            [Tools.Lab, "chaos", "--minutes", "3", "--seed", "20261204", "--bin-dir", Tools.LabBin, "--cnidriver", Tools.CniDriver, "--work-dir", "/run/vpclab-e2e-chaos"],
            timeout: TimeSpan.FromMinutes(8));

        exit.Should().Be(0, $"chaos output:\n{stdout}\n{stderr}");
        var line = stdout.Split('\n').Single(l => l.StartsWith("chaos: ", StringComparison.Ordinal) && l.Contains("kills", StringComparison.Ordinal));
        line.Should().MatchRegex(@"^chaos: [1-9]\d* kills, [1-9]\d* faults, [1-9]\d* ADDs acknowledged, 0 lost, 0 duplicated, 0 leaked ENIs, 0 leaked host links$");
        Directory.GetFiles("/run/netns", "vpclab-*").Should().BeEmpty();
        File.ReadAllText("/proc/self/mounts").Should().NotContain("/run/vpclab-e2e-chaos", "the lab unmounts its checkpoint tmpfs");
        Directory.Exists("/run/vpclab-e2e-chaos").Should().BeFalse();
    }
}
