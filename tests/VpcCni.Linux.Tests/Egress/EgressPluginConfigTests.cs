using System.Net;
using System.Text;
using VpcCni.Cni;
using VpcCni.Linux.Egress;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Tests.Egress;

public sealed class EgressPluginConfigTests
{
    private static EgressPluginConfig Parse(string extra) => EgressPluginConfig.Parse(NetworkConfig.Parse(Encoding.UTF8.GetBytes(
        $$"""{"cniVersion":"1.0.0","name":"aws-cni","type":"egress-cni"{{extra}}}""")));

    [Fact]
    public void Parse_UpstreamConflistEntry_ReadsEveryKey()
    {
        var config = Parse("""
            ,"mtu":"9001","enabled":"true","randomizeSNAT":"hashrandom","nodeIP":"10.0.0.5",
            "ipam":{"type":"host-local","ranges":[[{"subnet":"169.254.172.0/22"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"/run/cni/v6pd/egress-v4-ipam"},
            "pluginLogFile":"/var/log/aws-routed-eni/egress-v4-plugin.log","pluginLogLevel":"DEBUG"
            """);

        config.Name.Should().Be("aws-cni");
        config.Enabled.Should().BeTrue();
        config.RequireMtu().Should().Be(9001);
        config.RequireNodeAddress().Should().Be(IPAddress.Parse("10.0.0.5"));
        config.Randomization.Should().Be(SnatRandomization.Random);
        config.IpamType.Should().Be("host-local");
        config.IpamRoutes.Should().Equal(IPNetwork.Parse("0.0.0.0/0"));
        config.PluginLogFile.Should().Be("/var/log/aws-routed-eni/egress-v4-plugin.log");
        config.PluginLogLevel.Should().Be("DEBUG");
    }

    [Theory]
    [InlineData(",\"enabled\":\"true\"", true)]
    [InlineData(",\"enabled\":true", true)]
    [InlineData(",\"enabled\":\"false\"", false)]
    [InlineData(",\"enabled\":\"TRUE\"", false)]
    [InlineData(",\"enabled\":\"\"", false)]
    [InlineData("", false)]
    public void Parse_Enabled_OnlyTheStringTrueEnables(string extra, bool expected) =>
        Parse(extra).Enabled.Should().Be(expected);

    [Theory]
    [InlineData("prng", SnatRandomization.RandomFully)]
    [InlineData("hashrandom", SnatRandomization.Random)]
    [InlineData("none", SnatRandomization.None)]
    [InlineData("other", SnatRandomization.RandomFully)]
    public void Parse_RandomizeSnat_MapsLikeUpstream(string value, SnatRandomization expected) =>
        Parse($",\"randomizeSNAT\":\"{value}\"").Randomization.Should().Be(expected);

    [Theory]
    [InlineData(",\"mtu\":\"abc\"")]
    [InlineData(",\"mtu\":\"\"")]
    [InlineData(",\"mtu\":\"1500.5\"")]
    [InlineData("")]
    public void RequireMtu_NotAnInteger_IsInvalidNetworkConfig(string extra)
    {
        var act = () => Parse(extra).RequireMtu();

        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    [Fact]
    public void RequireMtu_JsonNumber_IsAccepted() => Parse(",\"mtu\":1500").RequireMtu().Should().Be(1500);

    [Theory]
    [InlineData("")]
    [InlineData("not-an-ip")]
    [InlineData("10.0.0.0/16")]
    [InlineData("fe80::1")]
    [InlineData("ff02::1")]
    [InlineData("::")]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.1.1")]
    public void RequireNodeAddress_NotAUnicastAddress_IsInvalidNetworkConfig(string nodeIP)
    {
        var act = () => Parse($",\"nodeIP\":\"{nodeIP}\"").RequireNodeAddress();

        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    [Theory]
    [InlineData("2001:db8::1")]
    [InlineData("fd00::5")]
    [InlineData("192.0.2.10")]
    public void RequireNodeAddress_GlobalUnicast_IsAccepted(string nodeIP) =>
        Parse($",\"nodeIP\":\"{nodeIP}\"").RequireNodeAddress().Should().Be(IPAddress.Parse(nodeIP));

    [Theory]
    [InlineData(",\"enabled\":5")]
    [InlineData(",\"nodeIP\":5")]
    [InlineData(",\"mtu\":[1]")]
    [InlineData(",\"ipam\":{\"type\":\"host-local\",\"routes\":{}}")]
    public void Parse_WrongJsonType_IsDecodingFailure(string extra)
    {
        var act = () => Parse(extra);

        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.DecodingFailure);
    }
}
