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
        plan.Select(p => p.Key).Should().BeEquivalentTo(["enis", "ipsPerEni", "prefixes", "prefixesPerEni", "totalIps", "assignedIps", "unusedIps"]);
        plan["assignedIps"]!.GetValue<int>().Should().Be(12);
        plan["totalIps"]!.GetValue<int>().Should().Be(plan["assignedIps"]!.GetValue<int>() + plan["unusedIps"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(null, 32)]
    [InlineData("110", 40)]
    public async Task Plan_PrefixDelegationWithTheNodesPodCapacity_ServesUpToIt(string? maxPods, int assigned)
    {
        // Without the node's capacity the daemon (and plan) stay at m5.large's secondary-IP formula, 29: growth stops once
        // the pool holds that many, at two /28 prefixes (32 addresses). Given 110, as a kubelet configured for prefix
        // delegation reports, all 40 pods get addresses.
        string[] args = ["plan", "--instance-type", "m5.large", "--pods", "40", "--prefix-delegation", "--warm-prefix-target", "1", "--json", .. maxPods is null ? Array.Empty<string>() : ["--max-pods", maxPods]];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(0, error);
        JsonNode.Parse(output)!["assignedIps"]!.GetValue<int>().Should().Be(assigned);
    }

    [Theory]
    [InlineData(false, 27)]
    [InlineData(true, 18)]
    public async Task Plan_CustomNetworking_LeavesThePrimaryEnisAddressesOut(bool customNetworking, int assigned)
    {
        // m5.large: 3 ENIs of 10 addresses, 9 for pods each. Custom networking gives pods only the two secondary ENIs (18),
        // as the daemon against the emulator's API serves (DaemonAgainstKubernetesEmulatorTests).
        string[] args = ["plan", "--instance-type", "m5.large", "--pods", "30", "--json", .. customNetworking ? ["--custom-networking"] : Array.Empty<string>()];
        var (exit, output, error) = await RunAsync(args);

        exit.Should().Be(0, error);
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
}
