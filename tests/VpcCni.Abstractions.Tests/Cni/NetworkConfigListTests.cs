using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class NetworkConfigListTests
{
    private const string AwsConflist = """
        {"cniVersion":"0.4.0","name":"aws-cni","disableCheck":true,"plugins":[
          {"name":"aws-cni","type":"aws-cni","vethPrefix":"eni","mtu":"9001","capabilities":{"io.kubernetes.cri.pod-annotations":true}},
          {"name":"egress-cni","type":"egress-cni","ipam":{"type":"host-local"}},
          {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
        """;

    private static NetworkConfigList Parse(string json) => NetworkConfigList.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_AwsConflist_ReadsPluginsInOrder()
    {
        var list = Parse(AwsConflist);

        list.Name.Should().Be("aws-cni");
        list.CniVersion.Should().Be("0.4.0");
        list.DisableCheck.Should().BeTrue();
        list.Plugins.Select(p => p.GetProperty("type").GetString()).Should().Equal("aws-cni", "egress-cni", "portmap");
    }

    [Fact]
    public void Parse_SingleConfBelowV100_BecomesOneElementList()
    {
        var list = Parse("""{"cniVersion":"0.3.1","name":"n","type":"bridge"}""");
        list.Plugins.Should().ContainSingle();
    }

    [Fact]
    public void Parse_SingleConfAtV100_Code7()
    {
        var act = () => Parse("""{"cniVersion":"1.0.0","name":"n","type":"bridge"}""");
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    [Theory]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","plugins":[]}""")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","plugins":[{"name":"x"}]}""")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n"}""")]
    [InlineData("""{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}""")]
    public void Parse_BadList_Code7(string json)
    {
        var act = () => Parse(json);
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    [Fact]
    public void SelectVersion_CniVersions_PicksHighestSupportedIgnoringNewer()
    {
        var list = Parse("""{"cniVersion":"0.4.0","cniVersions":["1.0.0","1.1.0","2.0.0"],"name":"n","plugins":[{"type":"x"}]}""");

        list.SelectVersion().Should().Be("1.1.0");
        list.SelectVersion(["0.3.1", "0.4.0", "1.0.0"]).Should().Be("1.0.0");
        list.SelectVersion(["0.3.1"]).Should().BeNull();
    }

    [Fact]
    public void BuildRequestConfig_InsertsNameVersionEnabledRuntimeConfigAndPrevResult()
    {
        var list = Parse(AwsConflist);
        var capabilityArgs = new Dictionary<string, JsonElement>
        {
            ["portMappings"] = JsonDocument.Parse("""[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]""").RootElement,
            ["io.kubernetes.cri.pod-annotations"] = JsonDocument.Parse("""{"k":"v"}""").RootElement,
            ["bandwidth"] = JsonDocument.Parse("""{"ingressRate":1}""").RootElement,
        };
        var prev = CniResult.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.5/32"}]}"""u8);

        var portmap = JsonNode.Parse(list.BuildRequestConfig(2, "0.4.0", prev, capabilityArgs))!;
        var aws = JsonNode.Parse(list.BuildRequestConfig(0, "0.4.0", null, capabilityArgs))!;
        var egress = JsonNode.Parse(list.BuildRequestConfig(1, "0.4.0", null, capabilityArgs))!;

        portmap["name"]!.GetValue<string>().Should().Be("aws-cni");
        portmap["cniVersion"]!.GetValue<string>().Should().Be("0.4.0");
        portmap["snat"]!.GetValue<bool>().Should().BeTrue();
        portmap["runtimeConfig"]!.AsObject().Select(p => p.Key).Should().Equal("portMappings");
        portmap["prevResult"]!["ips"]![0]!["version"]!.GetValue<string>().Should().Be("4");
        aws["runtimeConfig"]!.AsObject().Select(p => p.Key).Should().Equal("io.kubernetes.cri.pod-annotations");
        aws["name"]!.GetValue<string>().Should().Be("aws-cni");
        egress["runtimeConfig"].Should().BeNull("no capability enabled means no runtimeConfig");
        egress.AsObject().ContainsKey("prevResult").Should().BeFalse();

        NetworkConfig.Parse(list.BuildRequestConfig(2, "0.4.0", prev, capabilityArgs)).PrevResult!.Ips.Should().ContainSingle();
    }
}
