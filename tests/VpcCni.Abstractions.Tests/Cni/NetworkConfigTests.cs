using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class NetworkConfigTests
{
    // The shape of upstream's aws-cni plugin object (misc/10-aws.conflist) as a runtime hands it over.
    private const string AwsRequest = """
        {"cniVersion":"0.4.0","name":"aws-cni","type":"aws-cni","vethPrefix":"eni","mtu":"9001",
         "podSGEnforcingMode":"strict","pluginLogFile":"/var/log/aws-routed-eni/plugin.log","pluginLogLevel":"DEBUG",
         "capabilities":{"io.kubernetes.cri.pod-annotations":true},
         "runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"a":"b"}},
         "args":{"cni":{"labels":[{"key":"k","value":"v"}]}},
         "ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}]]},
         "dns":{"nameservers":["10.0.0.2"],"search":["svc"]},
         "disableCheck":true}
        """;

    private static NetworkConfig Parse(string json) => NetworkConfig.Parse(Encoding.UTF8.GetBytes(json));

    private static CniException Fails(string json)
    {
        var act = () => Parse(json);
        return act.Should().Throw<CniException>().Which;
    }

    [Fact]
    public void Parse_AwsRequest_ReadsWellKnownKeys()
    {
        var config = Parse(AwsRequest);

        config.CniVersion.Should().Be("0.4.0");
        config.Name.Should().Be("aws-cni");
        config.Type.Should().Be("aws-cni");
        config.DisableCheck.Should().BeTrue();
        config.DisableGC.Should().BeFalse();
        config.IpamType.Should().Be("host-local");
        config.Dns!.Nameservers.Should().Equal("10.0.0.2");
        config.Capabilities.Should().ContainKey("io.kubernetes.cri.pod-annotations").WhoseValue.Should().BeTrue();
        config.RuntimeConfig!.Value.GetProperty("io.kubernetes.cri.pod-annotations").GetProperty("a").GetString().Should().Be("b");
        config.Args!.Value.GetProperty("cni").GetProperty("labels").GetArrayLength().Should().Be(1);
        config.PrevResult.Should().BeNull();
        config.ValidAttachments.Should().BeNull();
    }

    [Fact]
    public void Parse_PluginSpecificKeys_StayAvailableRawAndTyped()
    {
        var config = Parse(AwsRequest);

        config.TryGetProperty("vethPrefix", out var prefix).Should().BeTrue();
        prefix.GetString().Should().Be("eni");
        var typed = config.GetPluginConfig(TestJsonContext.Default.AwsPluginFields);
        typed.VethPrefix.Should().Be("eni");
        typed.Mtu.Should().Be("9001");
        typed.PluginLogLevel.Should().Be("DEBUG");
        Encoding.UTF8.GetString(config.RawBytes.Span).Should().Be(AwsRequest, "delegates must receive the exact bytes");
    }

    [Fact]
    public void Parse_NoVersion_AssumesV020()
    {
        Parse("""{"name":"n","type":"t"}""").CniVersion.Should().Be("0.2.0");
    }

    [Fact]
    public void Parse_CniVersions_AreRead()
    {
        Parse("""{"cniVersion":"1.1.0","cniVersions":["1.0.0","1.1.0"],"name":"n","type":"t","disableGC":true}""")
            .Should().Match<NetworkConfig>(c => c.CniVersions.Count == 2 && c.DisableGC);
    }

    [Theory]
    [InlineData("""{"type":"t"}""", "missing network name")]
    [InlineData("""{"name":"","type":"t"}""", "missing network name")]
    [InlineData("""{"name":"-bad","type":"t"}""", "invalid network name")]
    [InlineData("""{"name":"a/b","type":"t"}""", "invalid network name")]
    [InlineData("""{"name":"a b","type":"t"}""", "invalid network name")]
    [InlineData("""{"name":"n"}""", "missing plugin type")]
    [InlineData("""{"name":"n","type":""}""", "missing plugin type")]
    [InlineData("""{"name":"n","type":"../evil"}""", "invalid plugin type")]
    [InlineData("""{"name":"n","type":"t","cni.dev/valid-attachments":[{"containerID":"a"}]}""", "invalid GC attachment")]
    public void Parse_InvalidConfig_Code7(string json, string message)
    {
        var ex = Fails(json);
        ex.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
        ex.Message.Should().Be(message);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("not json", "")]
    [InlineData("[]", "expected a JSON object")]
    [InlineData("\"str\"", "expected a JSON object")]
    [InlineData("""{"name":"n","type":"t",}""", "")]
    [InlineData("""{"name":"n","type":"t"} trailing""", "")]
    [InlineData("""{"cniVersion":"1.0","name":"n","type":"t"}""", "not a semantic version")]
    [InlineData("""{"cniVersion":1,"name":"n","type":"t"}""", "\"cniVersion\" must be a string")]
    [InlineData("""{"name":7,"type":"t"}""", "\"name\" must be a string")]
    [InlineData("""{"name":"n","type":"t","disableCheck":"true"}""", "\"disableCheck\" must be a boolean")]
    [InlineData("""{"name":"n","type":"t","ipam":[]}""", "\"ipam\" must be an object")]
    [InlineData("""{"name":"n","type":"t","ipam":{"type":3}}""", "\"ipam.type\" must be a string")]
    [InlineData("""{"name":"n","type":"t","runtimeConfig":"x"}""", "\"runtimeConfig\" must be an object")]
    [InlineData("""{"name":"n","type":"t","capabilities":{"portMappings":"yes"}}""", "capabilities.portMappings")]
    [InlineData("""{"name":"n","type":"t","cniVersions":["1.0.0",2]}""", "cniVersions")]
    [InlineData("""{"name":"n","type":"t","dns":{"nameservers":"x"}}""", "")]
    [InlineData("""{"name":"n","type":"t","cni.dev/valid-attachments":{}}""", "cni.dev/valid-attachments")]
    public void Parse_Undecodable_Code6(string json, string detail)
    {
        var ex = Fails(json);
        ex.Code.Should().Be(CniErrorCode.DecodingFailure);
        ex.Details.Should().NotBeNullOrEmpty().And.Contain(detail.Length == 0 ? ex.Details! : detail);
    }

    [Fact]
    public void Parse_PrevResultInOlderVersion_IsConvertedToConfigVersion()
    {
        var config = Parse("""
            {"cniVersion":"1.0.0","name":"n","type":"portmap",
             "prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"version":"4","interface":0,"address":"10.0.0.5/32"}]}}
            """);

        config.PrevResult!.CniVersion.Should().Be("1.0.0");
        config.PrevResult.Ips.Should().ContainSingle().Which.Interface.Should().Be(0);
    }

    [Fact]
    public void Parse_PrevResultWithoutVersion_IsReadAsConfigVersion()
    {
        var config = Parse("""{"cniVersion":"0.4.0","name":"n","type":"t","prevResult":{"ips":[{"version":"4","address":"10.0.0.5/32"}]}}""");
        config.PrevResult!.CniVersion.Should().Be("0.4.0");
    }

    [Fact]
    public void Parse_EmptyPrevResult_IsNoPrevResult()
    {
        Parse("""{"cniVersion":"1.1.0","name":"n","type":"t","prevResult":{}}""").PrevResult.Should().BeNull();
    }

    [Fact]
    public void Parse_MalformedPrevResult_Code6()
    {
        Fails("""{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"ips":[{"address":"bogus"}]}}""")
            .Code.Should().Be(CniErrorCode.DecodingFailure);
    }

    [Fact]
    public void Parse_GcValidAttachments_ReadsCurrentKey()
    {
        var config = Parse("""{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}],"cni.dev/attachments":[{"containerID":"old","ifname":"eth0"}]}""");
        config.ValidAttachments.Should().Equal(new CniAttachment("c1", "eth0"));
    }

    [Fact]
    public void Parse_GcLegacyAttachmentsOnly_FallsBackToIt()
    {
        var config = Parse("""{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/attachments":[{"containerID":"c2","ifname":"net1"}]}""");
        config.ValidAttachments.Should().Equal(new CniAttachment("c2", "net1"));
    }

    [Fact]
    public void Parse_GcEmptyList_IsEmptyNotNull()
    {
        Parse("""{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/valid-attachments":[]}""").ValidAttachments.Should().BeEmpty();
    }

    [Fact]
    public void GetPluginConfig_WrongFieldType_Code6()
    {
        var config = Parse("""{"name":"n","type":"t","vethPrefix":12}""");
        var act = () => config.GetPluginConfig(TestJsonContext.Default.AwsPluginFields);
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.DecodingFailure);
    }
}

internal sealed class AwsPluginFields
{
    [JsonPropertyName("vethPrefix")]
    public string? VethPrefix { get; set; }

    [JsonPropertyName("mtu")]
    public string? Mtu { get; set; }

    [JsonPropertyName("pluginLogLevel")]
    public string? PluginLogLevel { get; set; }
}

[JsonSerializable(typeof(AwsPluginFields))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
