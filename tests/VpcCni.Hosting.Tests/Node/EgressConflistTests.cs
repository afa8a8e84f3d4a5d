using System.Net;
using System.Text.Json.Nodes;
using VpcCni.Cni;
using VpcCni.Configuration;
using VpcCni.Hosting.Node;

namespace VpcCni.Hosting.Tests.Node;

/// <summary>The conflist's egress-cni entry (upstream §5.6) for IPv6 and IPv4 clusters.</summary>
public sealed class EgressConflistTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PluginInstallOptions FromEnv(params (string Key, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Key, v => v.Value);
        return PluginInstallOptions.FromEnvironment(k => map.GetValueOrDefault(k));
    }

    private static JsonNode Egress(PluginInstallOptions options)
    {
        var root = JsonNode.Parse(NodeInstaller.RenderConflist(options))!;
        var plugins = root["plugins"]!.AsArray();
        plugins.Select(p => (string?)p!["type"]).Should().Equal("vpc-cni", "egress-cni", "portmap");
        return plugins[1]!;
    }

    [Fact]
    public async Task RenderConflist_IPv6Cluster_V4EgressEntryExactlyAsUpstream()
    {
        var options = await NodeInstaller.ResolveEgressNodeIPAsync(
            FromEnv(("ENABLE_IPv6", "true"), ("POD_MTU", "1500"), ("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "INFO")),
            _ => Task.FromResult(IPAddress.Parse("10.0.3.4")),
            _ => throw new InvalidOperationException("an IPv6 cluster's nodeIP is the IPv4"),
            null,
            Ct);

        var egress = Egress(options);

        egress.ToJsonString().Should().Be(
            """{"name":"egress-cni","type":"egress-cni","mtu":"1500","enabled":"true","randomizeSNAT":"prng","nodeIP":"10.0.3.4","ipam":{"type":"host-local","ranges":[[{"subnet":"169.254.172.0/22"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"/run/cni/v6pd/egress-v4-ipam"},"pluginLogFile":"/var/log/aws-routed-eni/egress-v4-plugin.log","pluginLogLevel":"INFO"}""");
    }

    [Fact]
    public void RenderConflist_IPv6ClusterV4EgressOffAndSettings_EnabledFalseWithTheGivenValues()
    {
        var egress = Egress(FromEnv(("ENABLE_IPv6", "true"), ("ENABLE_V4_EGRESS", "false"), ("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "hashrandom"),
            ("AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE", "stderr")));

        ((string?)egress["enabled"]).Should().Be("false");
        ((string?)egress["randomizeSNAT"]).Should().Be("hashrandom");
        ((string?)egress["pluginLogFile"]).Should().Be("stderr");
    }

    [Fact]
    public void RenderConflist_IPv4ClusterWithV6Egress_V6EntryAsUpstream()
    {
        var options = new PluginInstallOptions
        {
            PodMtu = 9001,
            Egress = new EgressPluginOptions(IPv6Cluster: false, Enabled: true) { NodeIP = "2600:1f14::10", PluginLogFile = EgressPluginOptions.DefaultLogFile(false) },
        };

        var egress = Egress(options);

        egress.ToJsonString().Should().Be(
            """{"name":"egress-cni","type":"egress-cni","mtu":"9001","enabled":"true","randomizeSNAT":"prng","nodeIP":"2600:1f14::10","ipam":{"type":"host-local","ranges":[[{"subnet":"fd00::ac:00/118"}]],"routes":[{"dst":"::/0"}],"dataDir":"/run/cni/v4pd/egress-v6-ipam"},"pluginLogFile":"/var/log/aws-routed-eni/egress-v6-plugin.log","pluginLogLevel":"Debug"}""");
    }

    [Fact]
    public async Task RenderConflist_IPv4ClusterDefault_DisabledV6EntryAsUpstreamWithoutReadingImds()
    {
        var options = await NodeInstaller.ResolveEgressNodeIPAsync(
            FromEnv(),
            _ => throw new InvalidOperationException("an IPv4 cluster's entry needs no IPv4"),
            _ => throw new InvalidOperationException("a disabled entry needs no IPv6"),
            null,
            Ct);

        var egress = Egress(options);

        egress.ToJsonString().Should().Be(
            """{"name":"egress-cni","type":"egress-cni","mtu":"9001","enabled":"false","randomizeSNAT":"prng","nodeIP":"","ipam":{"type":"host-local","ranges":[[{"subnet":"fd00::ac:00/118"}]],"routes":[{"dst":"::/0"}],"dataDir":"/run/cni/v4pd/egress-v6-ipam"},"pluginLogFile":"/var/log/aws-routed-eni/egress-v6-plugin.log","pluginLogLevel":"Debug"}""");
    }

    [Fact]
    public void RenderConflist_IPv4ClusterV6EgressOff_EnabledFalseWithTheGivenValues()
    {
        var egress = Egress(FromEnv(("ENABLE_V6_EGRESS", "false"), ("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "none"), ("AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE", "stderr")));

        ((string?)egress["enabled"]).Should().Be("false");
        ((string?)egress["randomizeSNAT"]).Should().Be("none");
        ((string?)egress["pluginLogFile"]).Should().Be("stderr");
    }

    [Theory]
    [InlineData("ADD")]
    [InlineData("CHECK")]
    [InlineData("DEL")]
    public async Task RenderConflist_IPv4ClusterDefault_TheEgressPluginPassesThroughWithoutIpam(string command)
    {
        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(FromEnv()));
        var previous = CniResult.Parse(
            """{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.0.1.5/32","interface":0}]}"""u8, "1.0.0");
        var env = new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = "c1",
            ["CNI_NETNS"] = "/run/netns/does-not-exist",
            ["CNI_IFNAME"] = "eth0",
            // No IPAM plugin can be found here: reaching host-local would fail instead of touching the machine.
            ["CNI_PATH"] = "/nonexistent",
        };
        var config = conflist.BuildRequestConfig(1, "1.0.0", command == "DEL" ? null : previous);
        NetworkConfig.Parse(config).Type.Should().Be("egress-cni");
        using var stdin = new MemoryStream(config);
        using var stdout = new MemoryStream();

        var exit = await new CniPluginRunner(new VpcCni.Linux.Egress.EgressCniPlugin()).RunAsync(env, stdin, stdout, Ct);

        exit.Should().Be(0, System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
        if (command == "ADD")
        {
            var output = JsonNode.Parse(stdout.ToArray())!;
            output["ips"]![0]!["address"]!.GetValue<string>().Should().Be("10.0.1.5/32");
            output["interfaces"]!.AsArray().Should().ContainSingle();
        }
        else
        {
            stdout.Length.Should().Be(0);
        }
    }

    [Fact]
    public async Task ResolveEgressNodeIP_IPv4ClusterNodeWithoutIPv6_EntryDisabledWithAWarning()
    {
        var options = new PluginInstallOptions { Egress = new EgressPluginOptions(false, true) };
        using var warnings = new StringWriter();

        var resolved = await NodeInstaller.ResolveEgressNodeIPAsync(options, _ => throw new InvalidOperationException("not read"), _ => Task.FromResult<IPAddress?>(null), warnings, Ct);

        resolved.Egress!.Enabled.Should().BeFalse();
        resolved.Egress.NodeIP.Should().BeEmpty();
        warnings.ToString().Should().Contain("ENABLE_V6_EGRESS");
    }

    [Fact]
    public async Task ResolveEgressNodeIP_IPv6ClusterImdsFails_Propagates()
    {
        var act = () => NodeInstaller.ResolveEgressNodeIPAsync(FromEnv(("ENABLE_IPv6", "true")), _ => throw new HttpRequestException("imds down"), _ => Task.FromResult<IPAddress?>(null), null, Ct);

        await act.Should().ThrowAsync<HttpRequestException>();
    }

    [Fact]
    public void FromEnvironment_IPv6ClusterMtuBelow1280_RefusedNamingIt()
    {
        var act = () => FromEnv(("ENABLE_IPv6", "true"), ("POD_MTU", "1000"));

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("POD_MTU");
    }

    [Fact]
    public async Task RenderConflist_IPv6Cluster_TheEgressPluginReadsItsEntry()
    {
        var options = await NodeInstaller.ResolveEgressNodeIPAsync(FromEnv(("ENABLE_IPv6", "true"), ("POD_MTU", "1500")),
            _ => Task.FromResult(IPAddress.Parse("10.0.3.4")), _ => Task.FromResult<IPAddress?>(null), null, Ct);
        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(options));

        var config = VpcCni.Linux.Egress.EgressPluginConfig.Parse(NetworkConfig.Parse(conflist.BuildRequestConfig(1, "1.0.0")));

        config.Enabled.Should().BeTrue();
        config.IpamType.Should().Be("host-local");
        config.IpamRoutes.Should().Equal(IPNetwork.Parse("0.0.0.0/0"));
        config.NodeIPText.Should().Be("10.0.3.4");
        config.MtuText.Should().Be("1500");
    }

    [Fact]
    public void RenderConflist_IPv6Cluster_ParsesAsAConflistTheRuntimeCanChain()
    {
        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(FromEnv(("ENABLE_IPv6", "true"))));

        var request = NetworkConfig.Parse(conflist.BuildRequestConfig(1, "1.0.0"));

        request.Type.Should().Be("egress-cni");
        request.Name.Should().Be("aws-cni");
    }
}
