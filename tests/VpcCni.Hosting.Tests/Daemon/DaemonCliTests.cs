using VpcCni.Configuration;
using System.Text.Json.Nodes;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class DaemonCliTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await DaemonCli.RunAsync(args, (_, _) => Task.FromResult(42), output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("m5.large", "29")]
    [InlineData("t3.small", "11")]
    [InlineData("m5.4xlarge", "234")]
    public async Task MaxPods_SecondaryIp_MatchesUpstreamEniMaxPods(string type, string expected)
    {
        var (exit, output, _) = await RunAsync("max-pods", "--instance-type", type);
        exit.Should().Be(0);
        output.Trim().Should().Be(expected);
    }

    [Fact]
    public async Task MaxPods_PrefixDelegationWithCpus_AppliesTheCalculatorCap()
    {
        var (exit, output, _) = await RunAsync("max-pods", "--instance-type", "m5.large", "--prefix-delegation", "--cpus", "2");
        exit.Should().Be(0);
        output.Trim().Should().Be("110");
    }

    [Fact]
    public async Task MaxPods_All_ListsEveryKnownType()
    {
        var (exit, output, _) = await RunAsync("max-pods", "--all");
        exit.Should().Be(0);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(VpcCni.Aws.Limits.InstanceLimitsCatalog.Count);
        lines.Should().Contain("m5.large 29");
    }

    [Theory]
    [InlineData(new[] { "max-pods", "--instance-type", "m9.nope" }, "--instance-type")]
    [InlineData(new[] { "max-pods", "--instance-type", "m5.large", "--max-eni", "-1" }, "--max-eni")]
    [InlineData(new[] { "plan", "--instance-type", "m5.large", "--pods", "x" }, "--pods")]
    [InlineData(new[] { "plan", "--instance-type", "m5.large", "--pods", "3", "--warm-eni-target", "-2" }, "--warm-eni-target")]
    [InlineData(new[] { "plan", "--instance-type", "m5.large", "--pods", "3", "--prefix-delegation", "--warm-eni-target", "0" }, "WARM_PREFIX_TARGET")]
    [InlineData(new[] { "plan", "--instance-type", "m5.large", "--pods", "3", "--bogus", "1" }, "--bogus")]
    [InlineData(new[] { "plan", "--instance-type", "m5.large", "--pods", "3", "--subnet-free-addresses", "-1" }, "--subnet-free-addresses")]
    [InlineData(new[] { "max-pods", "--all", "--max-pods", "3" }, "--max-pods")]
    [InlineData(new[] { "max-pods", "--instance-type", "m5.large", "--max-pods", "0" }, "--max-pods")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public async Task BadInput_Exit2NamingTheProblem(string[] args, string named)
    {
        var (exit, _, error) = await RunAsync(args);
        exit.Should().Be(2);
        error.Should().Contain(named);
    }

    [Fact]
    public async Task Plan_Json_HasTheDocumentedShape()
    {
        var (exit, output, _) = await RunAsync("plan", "--instance-type", "m5.large", "--pods", "12", "--json");

        exit.Should().Be(0);
        var plan = JsonNode.Parse(output)!.AsObject();
        plan.Select(p => p.Key).Should().BeEquivalentTo(
            ["enis", "ipsPerEni", "prefixes", "prefixesPerEni", "totalIps", "assignedIps", "unusedIps", "requestedPods", "placedPods", "maxPods", "unplacedReason"]);
        plan["assignedIps"]!.GetValue<int>().Should().Be(12);
        plan["totalIps"]!.GetValue<int>().Should().Be(plan["assignedIps"]!.GetValue<int>() + plan["unusedIps"]!.GetValue<int>());
        plan["requestedPods"]!.GetValue<int>().Should().Be(12);
        plan["placedPods"]!.GetValue<int>().Should().Be(12);
        plan["maxPods"]!.GetValue<int>().Should().Be(29);
        plan["unplacedReason"].Should().BeNull();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Plan_MorePodsThanTheEnisHold_Exit1NamingTheLimitAndTheCountPlaced(bool json)
    {
        // Was exit 0 with "9 assigned": the 3 pods left over were not mentioned.
        string[] args = ["plan", "--instance-type", "t3.small", "--pods", "12", .. json ? ["--json"] : Array.Empty<string>()];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(1);
        error.Trim().Should().Be("plan: 9 of 12 pods placed: ENI limit (3 ENIs × 3 addresses on t3.small)");
        if (json)
        {
            var plan = JsonNode.Parse(output)!;
            plan["requestedPods"]!.GetValue<int>().Should().Be(12);
            plan["placedPods"]!.GetValue<int>().Should().Be(9);
            plan["unplacedReason"]!.GetValue<string>().Should().Be("ENI limit (3 ENIs × 3 addresses on t3.small)");
        }
        else
        {
            output.Should().Contain("placed pods   9 of 12 (ENI limit (3 ENIs × 3 addresses on t3.small))");
        }
    }

    [Fact]
    public async Task Plan_SubnetWithFewFreeAddresses_Exit1NamingTheSubnet()
    {
        var (exit, _, error) = await RunAsync("plan", "--instance-type", "t3.small", "--pods", "8", "--subnet-free-addresses", "4");

        exit.Should().Be(1);
        error.Trim().Should().Be("plan: 3 of 8 pods placed: subnet full (no free address in the subnet)");
    }

    [Theory]
    [InlineData(null, 40, null)]
    [InlineData("110", 40, null)]
    [InlineData("29", 29, "max pods (29)")]
    public async Task Plan_PrefixDelegationWithTheNodesPodCapacity_ServesUpToIt(string? maxPods, int placed, string? reason)
    {
        // Without the node's capacity, prefix delegation takes the mode's figure (m5.large: 3 × 9 × 16 + 2 = 434), not
        // the secondary-IP formula's 29 (which stopped the pool at two /28s, 32 addresses, and said nothing of the other
        // 8 pods). Given 110, as a kubelet configured for prefix delegation reports, all 40 pods get addresses; given 29,
        // the kubelet admits 29 and plan says so.
        string[] args = ["plan", "--instance-type", "m5.large", "--pods", "40", "--prefix-delegation", "--warm-prefix-target", "1", "--json", .. maxPods is null ? Array.Empty<string>() : ["--max-pods", maxPods]];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(reason is null ? 0 : 1, error);
        var plan = JsonNode.Parse(output)!;
        plan["placedPods"]!.GetValue<int>().Should().Be(placed);
        plan["assignedIps"]!.GetValue<int>().Should().Be(placed);
        (plan["unplacedReason"]?.GetValue<string>()).Should().Be(reason);
    }

    /// <summary>
    /// Upstream's docs/prefix-and-ip-target.md through the command line with the docs' max pods (110 on a t3.small, 250 on
    /// a p3dn.24xlarge): ENIs, prefixes per ENI and unused IPs. Rows where upstream's docs disagree with its code carry the
    /// code's figures; VpcCni.Ipam.Tests' UpstreamWorkedExampleTests names them (t3.small 7/20 at 0 pods; p3dn rows with
    /// empty extra ENIs).
    /// </summary>
    [Theory]
    [InlineData("t3.small", 1, 0, 0, 0, 1, new[] { 1 }, 16)]
    [InlineData("t3.small", 1, 0, 0, 5, 1, new[] { 2 }, 27)]
    [InlineData("t3.small", 1, 0, 0, 16, 1, new[] { 2 }, 16)]
    [InlineData("t3.small", 1, 0, 0, 17, 1, new[] { 3 }, 31)]
    [InlineData("t3.small", 1, 0, 0, 58, 2, new[] { 3, 2 }, 22)]
    [InlineData("t3.small", 0, 1, 1, 0, 1, new[] { 1 }, 16)]
    [InlineData("t3.small", 0, 1, 1, 5, 1, new[] { 1 }, 11)]
    [InlineData("t3.small", 0, 1, 1, 17, 1, new[] { 2 }, 15)]
    [InlineData("t3.small", 0, 1, 1, 58, 2, new[] { 3, 1 }, 6)]
    [InlineData("t3.small", 0, 7, 20, 0, 1, new[] { 2 }, 32)]
    [InlineData("t3.small", 0, 7, 20, 5, 1, new[] { 2 }, 27)]
    [InlineData("t3.small", 0, 7, 20, 17, 1, new[] { 2 }, 15)]
    [InlineData("t3.small", 0, 7, 20, 58, 2, new[] { 3, 2 }, 22)]
    [InlineData("p3dn.24xlarge", 1, 0, 0, 0, 1, new[] { 1 }, 16)]
    [InlineData("p3dn.24xlarge", 1, 0, 0, 3, 1, new[] { 2 }, 29)]
    [InlineData("p3dn.24xlarge", 1, 0, 0, 95, 1, new[] { 7 }, 17)]
    [InlineData("p3dn.24xlarge", 0, 5, 10, 0, 1, new[] { 1 }, 16)]
    [InlineData("p3dn.24xlarge", 0, 5, 10, 7, 1, new[] { 1 }, 9)]
    [InlineData("p3dn.24xlarge", 0, 5, 10, 15, 1, new[] { 2 }, 17)]
    [InlineData("p3dn.24xlarge", 0, 5, 10, 45, 1, new[] { 4 }, 19)]
    public async Task Plan_PrefixDelegationWithMaxPods_AgreesWithUpstreamsPrefixTable(string type, int warmPrefix, int warmIp, int minIp, int pods, int enis, int[] prefixesPerEni, int unused)
    {
        var maxPods = type == "t3.small" ? "110" : "250";
        string[] args =
        [
            "plan", "--instance-type", type, "--pods", pods.ToString(System.Globalization.CultureInfo.InvariantCulture), "--prefix-delegation", "--max-pods", maxPods, "--json",
            "--warm-prefix-target", warmPrefix.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--warm-ip-target", warmIp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--minimum-ip-target", minIp.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(0, error);
        var plan = JsonNode.Parse(output)!;
        plan["enis"]!.GetValue<int>().Should().Be(enis);
        plan["prefixesPerEni"]!.AsArray().Select(p => p!.GetValue<int>()).OrderByDescending(x => x).Should().Equal(prefixesPerEni.OrderByDescending(x => x));
        plan["unusedIps"]!.GetValue<int>().Should().Be(unused);
        plan["placedPods"]!.GetValue<int>().Should().Be(pods);
        plan["maxPods"]!.GetValue<int>().Should().Be(int.Parse(maxPods, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Plan_PrefixDelegationT3SmallFivePods_KeepsTwoPrefixes()
    {
        var (exit, output, error) = await RunAsync("plan", "--instance-type", "t3.small", "--pods", "5", "--prefix-delegation", "--warm-prefix-target", "1", "--json");

        exit.Should().Be(0, error);
        JsonNode.Parse(output)!["prefixes"]!.GetValue<int>().Should().Be(2);
    }

    [Theory]
    [InlineData(new[] { "--prefix-delegation", "--max-pods", "110" }, "max pods      110", "formula       146 (prefix delegation)", "addresses     144 on t3.small's ENIs (3 ENIs × 3 prefixes × 16): 110 is reachable")]
    [InlineData(new[] { "--max-pods", "11" }, "max pods      11", "formula       11 (secondary IPs)", "addresses     9 on t3.small's ENIs (3 ENIs × 3 addresses): 11 is reachable with 2 host-network pods (aws-node, kube-proxy) among them")]
    [InlineData(new[] { "--max-pods", "50" }, "max pods      50", "formula       11 (secondary IPs)", "addresses     9 on t3.small's ENIs (3 ENIs × 3 addresses): 50 is not reachable: at most 9 pods get an address")]
    public async Task MaxPods_WithMaxPods_PrintsItTheFormulaAndWhetherTheEnisReachIt(string[] extra, string first, string second, string third)
    {
        var (exit, output, error) = await RunAsync(["max-pods", "--instance-type", "t3.small", .. extra]);

        exit.Should().Be(0, error);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).Should().Equal(
            $"{first} (the node's pod capacity, --max-pods; the engine's max pods)", second, third);
    }

    [Theory]
    [InlineData(false, 27)]
    [InlineData(true, 18)]
    public async Task Plan_CustomNetworking_LeavesThePrimaryEnisAddressesOut(bool customNetworking, int assigned)
    {
        // m5.large: 3 ENIs of 10 addresses, 9 for pods each. Custom networking gives pods only the two secondary ENIs (18),
        // as the daemon against the emulator's API serves (DaemonAgainstKubernetesEmulatorTests).
        // 30 pods do not fit either way: plan exits 1 and names the ENI limit (it used to exit 0 with fewer assigned).
        string[] args = ["plan", "--instance-type", "m5.large", "--pods", "30", "--json", .. customNetworking ? ["--custom-networking"] : Array.Empty<string>()];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(1);
        error.Trim().Should().Be($"plan: {assigned} of 30 pods placed: ENI limit (3 ENIs × 9 addresses on m5.large{(customNetworking ? ", the primary ENI carrying no pods" : "")})");
        JsonNode.Parse(output)!["assignedIps"]!.GetValue<int>().Should().Be(assigned);
    }

    [Fact]
    public async Task Plan_Workload_ReportsBothPoliciesAndWritesSvg()
    {
        var svg = Path.Combine(Path.GetTempPath(), $"vpccni-plan-{Environment.ProcessId}.svg");
        var trace = Path.Combine(FindRepo(), "samples", "workloads", "burst-100.json");
        try
        {
            var (exit, output, error) = await RunAsync("plan", "--instance-type", "m5.4xlarge", "--workload", trace, "--svg", svg);

            exit.Should().Be(0, error);
            output.Should().Contain("configured").And.Contain("demand-aware");
            File.ReadAllText(svg).Should().StartWith("<svg");
        }
        finally
        {
            File.Delete(svg);
        }
    }

    [Fact]
    public async Task Plan_WorkloadJson_ComparesUpstreamTimingWithVpcCniFirstAndKeepsTheFieldNames()
    {
        var trace = Path.Combine(FindRepo(), "samples", "workloads", "burst-100.json");

        var (exit, output, error) = await RunAsync("plan", "--instance-type", "m5.4xlarge", "--workload", trace, "--json");

        exit.Should().Be(0, error);
        var reports = JsonNode.Parse(output)!.AsArray();
        reports.Select(r => r!["policy"]!.GetValue<string>()).Should().Equal("upstream", "vpccni", "configured", "demand-aware");
        var upstream = reports[0]!;
        var vpccni = reports[1]!;
        vpccni["waitP50Seconds"]!.GetValue<double>().Should().Be(0);
        vpccni["waitP99Seconds"]!.GetValue<double>().Should().BeLessThan(upstream["waitP99Seconds"]!.GetValue<double>());
        vpccni["averageIdle"]!.GetValue<double>().Should().BeLessThanOrEqualTo(0.5 * upstream["averageIdle"]!.GetValue<double>());
        upstream.AsObject().Select(p => p.Key).Should().Contain(["ec2MutatingCalls", "ec2DescribeCalls", "peakIdle", "waitMaxSeconds", "podsStarted", "podsNeverStarted", "samples"]);
    }

    [Fact]
    public async Task Run_PassesSettingsToTheServer()
    {
        var (exit, _, _) = await RunAsync("run", "--cloud", "simulated", "--instance-type", "t3.small", "--socket", "/tmp/x.sock", "--no-host-network");
        exit.Should().Be(42);
    }

    [Theory]
    [InlineData("WARM_ENI_TARGET", "-1")]
    [InlineData("WARM_IP_TARGET", "ten")]
    [InlineData("IP_COOLDOWN_PERIOD", "-5")]
    [InlineData("AWS_VPC_K8S_CNI_EXTERNALSNAT", "maybe")]
    [InlineData("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "10.0.0.0/33")]
    [InlineData("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "always")]
    [InlineData("AWS_VPC_K8S_CNI_CONNMARK", "0")]
    [InlineData("AWS_VPC_ENI_MTU", "100")]
    [InlineData("AWS_VPC_K8S_CNI_VETHPREFIX", "toolong")]
    [InlineData("ENABLE_IPv6", "true")]
    [InlineData("INTROSPECTION_BIND_ADDRESS", "nowhere")]
    [InlineData("VPC_CNI_COUNT_COOLING_AS_AVAILABLE", "sometimes")]
    public void FromEnvironment_InvalidValue_NamesTheVariable(string name, string value)
    {
        var act = () => DaemonSettings.FromEnvironment(EnvironmentReader.From(new Dictionary<string, string> { [name] = value }));
        act.Should().Throw<InvalidSettingException>().WithMessage($"*{name}*");
    }

    [Fact]
    public void FromEnvironment_UpstreamVariables_Bound()
    {
        var settings = DaemonSettings.FromEnvironment(EnvironmentReader.From(new Dictionary<string, string>
        {
            ["WARM_ENI_TARGET"] = "0", ["WARM_IP_TARGET"] = "5", ["MINIMUM_IP_TARGET"] = "10", ["IP_COOLDOWN_PERIOD"] = "7",
            ["AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"] = "203.0.113.7/24, 198.51.100.0/24", ["AWS_VPC_K8S_CNI_CONNMARK"] = "0x100",
            ["AWS_VPC_K8S_CNI_RANDOMIZESNAT"] = "hashrandom", ["AWS_VPC_K8S_CNI_BACKING_STORE"] = "/tmp/ipam.json", ["DISABLE_METRICS"] = "true",
            ["VPC_CNI_COUNT_COOLING_AS_AVAILABLE"] = "true",
        }));

        settings.Ipam.CountCoolingAsAvailable.Should().BeTrue();
        settings.Ipam.WarmIpTarget.Should().Be(5);
        settings.Ipam.MinimumIpTarget.Should().Be(10);
        settings.Ipam.IpCooldownPeriod.Should().Be(TimeSpan.FromSeconds(7));
        settings.ExcludeSnatCidrs.Select(c => c.ToString()).Should().Equal("203.0.113.0/24", "198.51.100.0/24");
        settings.ConnectionMark.Should().Be(0x100u);
        settings.SnatRandomization.Should().Be(VpcCni.Linux.Snat.SnatRandomization.Random);
        settings.CheckpointPath.Should().Be("/tmp/ipam.json");
        settings.MetricsEndpoint.Should().BeNull();
        settings.IntrospectionEndpoint!.ToString().Should().Be("127.0.0.1:61679");
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository not found");
    }

    [Fact]
    public void ReadRunSettings_MaxPodsFlag_IsTheEnginesMaxPods()
    {
        var settings = DaemonCli.ReadRunSettings(CommandLine.Parse(["run", "--cloud", "simulated", "--max-pods", "110"], "run", new HashSet<string>()), EnvironmentReader.From(new Dictionary<string, string>()));

        settings.Ipam.MaxPods.Should().Be(110);
    }

    [Fact]
    public void ReadRunSettings_MaxPodsVariable_IsTheEnginesMaxPods()
    {
        var settings = DaemonCli.ReadRunSettings(CommandLine.Parse(["run", "--cloud", "simulated"], "run", new HashSet<string>()), EnvironmentReader.From(new Dictionary<string, string> { ["VPC_CNI_MAX_PODS"] = "58" }));

        settings.Ipam.MaxPods.Should().Be(58);
    }

    [Fact]
    public async Task Init_ChainedPluginsDir_InstallsPortmapBesideThePluginAndWritesTheConflist()
    {
        var dir = Directory.CreateTempSubdirectory("vpccni-init-").FullName;
        try
        {
            var reference = Directory.CreateDirectory(Path.Combine(dir, "reference")).FullName;
            File.WriteAllBytes(Path.Combine(reference, "portmap"), [1]);
            File.WriteAllBytes(Path.Combine(reference, "host-local"), [4]);
            File.WriteAllBytes(Path.Combine(dir, "plugin"), [2]);
            File.WriteAllBytes(Path.Combine(dir, "egress-cni"), [3]);

            var (exit, output, error) = await RunAsync("init", "--plugin-source", Path.Combine(dir, "plugin"), "--cni-bin-dir", Path.Combine(dir, "bin"),
                "--cni-conf-dir", Path.Combine(dir, "net.d"), "--chained-plugins-dir", reference, "--skip-sysctls");

            exit.Should().Be(0, error);
            output.Should().Contain($"installed {Path.Combine(dir, "bin", "portmap")}");
            Directory.GetFiles(Path.Combine(dir, "bin")).Select(Path.GetFileName).Should().BeEquivalentTo("vpc-cni", "egress-cni", "host-local", "portmap");
            var conflist = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "net.d", "10-aws.conflist")))!;
            conflist["plugins"]!.AsArray().Select(p => p!["type"]!.GetValue<string>()).Should().Equal("vpc-cni", "egress-cni", "portmap");
            conflist["plugins"]![1]!["enabled"]!.GetValue<string>().Should().Be("false");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Init_ChainedPluginsDirWithoutPortmap_Exit1NamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("vpccni-init-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "plugin"), [2]);
            File.WriteAllBytes(Path.Combine(dir, "egress-cni"), [3]);
            // Only host-local there (the egress entry's IPAM, installed first): portmap is what is missing.
            var chained = Directory.CreateDirectory(Path.Combine(dir, "no-portmap")).FullName;
            File.WriteAllBytes(Path.Combine(chained, "host-local"), [4]);

            var (exit, _, error) = await RunAsync("init", "--plugin-source", Path.Combine(dir, "plugin"), "--cni-bin-dir", Path.Combine(dir, "bin"),
                "--chained-plugins-dir", chained, "--skip-sysctls");

            exit.Should().Be(1);
            error.Should().Contain("portmap");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Init_NoEgressCniBesideThePlugin_Exit1NamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("vpccni-init-").FullName;
        try
        {
            var reference = Directory.CreateDirectory(Path.Combine(dir, "reference")).FullName;
            File.WriteAllBytes(Path.Combine(reference, "portmap"), [1]);
            File.WriteAllBytes(Path.Combine(reference, "host-local"), [4]);
            File.WriteAllBytes(Path.Combine(dir, "plugin"), [2]);

            var (exit, _, error) = await RunAsync("init", "--plugin-source", Path.Combine(dir, "plugin"), "--cni-bin-dir", Path.Combine(dir, "bin"),
                "--cni-conf-dir", Path.Combine(dir, "net.d"), "--chained-plugins-dir", reference, "--skip-sysctls");

            exit.Should().Be(1);
            error.Should().Contain(Path.Combine(dir, "egress-cni")).And.Contain("always chains egress-cni");
            File.Exists(Path.Combine(dir, "net.d", "10-aws.conflist")).Should().BeFalse("a conflist naming a missing plugin would fail every ADD");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Init_EgressPluginSource_InstalledFromThere()
    {
        var dir = Directory.CreateTempSubdirectory("vpccni-init-").FullName;
        try
        {
            var reference = Directory.CreateDirectory(Path.Combine(dir, "reference")).FullName;
            File.WriteAllBytes(Path.Combine(reference, "portmap"), [1]);
            File.WriteAllBytes(Path.Combine(reference, "host-local"), [4]);
            File.WriteAllBytes(Path.Combine(dir, "plugin"), [2]);
            File.WriteAllBytes(Path.Combine(reference, "my-egress"), [3]);

            var (exit, output, error) = await RunAsync("init", "--plugin-source", Path.Combine(dir, "plugin"), "--egress-plugin-source", Path.Combine(reference, "my-egress"),
                "--cni-bin-dir", Path.Combine(dir, "bin"), "--chained-plugins-dir", reference, "--skip-sysctls");

            exit.Should().Be(0, error);
            output.Should().Contain($"installed {Path.Combine(dir, "bin", "egress-cni")}");
            File.ReadAllBytes(Path.Combine(dir, "bin", "egress-cni")).Should().Equal(3);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
