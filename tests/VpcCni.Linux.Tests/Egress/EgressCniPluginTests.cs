using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;
using VpcCni.Linux.Egress;

namespace VpcCni.Linux.Tests.Egress;

/// <summary>The plugin's answers that need no privileges: everything decided before IPAM or the datapath is touched.</summary>
public sealed class EgressCniPluginTests
{
    private const string PrevResult = """
        "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"2001:db8::5/128","interface":0}]}
        """;

    private static async Task<(int Exit, JsonNode? Output)> RunAsync(string command, string config)
    {
        var env = new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = "c1",
            ["CNI_NETNS"] = "/run/netns/does-not-exist",
            ["CNI_IFNAME"] = "eth0",
            // No IPAM plugin can be found here: a test that reaches IPAM fails loudly instead of touching the machine.
            ["CNI_PATH"] = "/nonexistent",
        };
        using var stdout = new MemoryStream();
        var exit = await new CniPluginRunner(new EgressCniPlugin()).RunAsync(env, new MemoryStream(Encoding.UTF8.GetBytes(config)), stdout, TestContext.Current.CancellationToken);
        return (exit, stdout.Length == 0 ? null : JsonNode.Parse(stdout.ToArray()));
    }

    private static string Config(string extra) =>
        $$"""{"cniVersion":"1.0.0","name":"aws-cni","type":"egress-cni","ipam":{"type":"host-local"}{{extra}}}""";

    [Fact]
    public async Task Add_NoPrevResult_IsInvalidNetworkConfig()
    {
        var (exit, output) = await RunAsync("ADD", Config(",\"enabled\":\"true\",\"mtu\":\"1500\",\"nodeIP\":\"10.0.0.5\""));

        exit.Should().Be(1);
        output!["code"]!.GetValue<int>().Should().Be(7);
        output["msg"]!.GetValue<string>().Should().Be("must be called as a chained plugin");
    }

    [Fact]
    public async Task Add_Disabled_PassesThePreviousResultThrough()
    {
        var (exit, output) = await RunAsync("ADD", Config(",\"enabled\":\"false\"," + PrevResult));

        exit.Should().Be(0);
        output!["interfaces"]!.AsArray().Should().ContainSingle();
        output["ips"]![0]!["address"]!.GetValue<string>().Should().Be("2001:db8::5/128");
    }

    [Theory]
    [InlineData(",\"mtu\":\"jumbo\",\"nodeIP\":\"10.0.0.5\"", "invalid mtu")]
    [InlineData(",\"mtu\":\"1500\",\"nodeIP\":\"fe80::1\"", "global unicast IPv6 not found in host primary interface which is mandatory to support IPv6 egress")]
    [InlineData(",\"mtu\":\"1500\"", "invalid nodeIP")]
    public async Task Add_BadNetconf_IsInvalidNetworkConfigBeforeIpam(string extra, string message)
    {
        var (exit, output) = await RunAsync("ADD", Config(",\"enabled\":\"true\"," + PrevResult + extra));

        exit.Should().Be(1);
        output!["code"]!.GetValue<int>().Should().Be(7);
        output["msg"]!.GetValue<string>().Should().Be(message);
    }

    [Fact]
    public async Task Add_IpamPluginNotInPath_IsInvalidNetworkConfig()
    {
        var (exit, output) = await RunAsync("ADD", Config(",\"enabled\":\"true\",\"mtu\":\"1500\",\"nodeIP\":\"10.0.0.5\"," + PrevResult));

        exit.Should().Be(1);
        output!["code"]!.GetValue<int>().Should().Be(7);
        output["msg"]!.GetValue<string>().Should().Be("failed to find plugin \"host-local\" in path");
    }

    [Fact]
    public async Task Del_Disabled_DoesNothing()
    {
        var (exit, output) = await RunAsync("DEL", Config(""));

        exit.Should().Be(0);
        output.Should().BeNull();
    }
}
