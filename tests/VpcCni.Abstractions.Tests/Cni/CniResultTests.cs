using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniResultTests
{
    // Outputs of Debian's reference plugins, recorded in shared/reference/cni-spec.md §5.
    private const string PtpV020 = """{"cniVersion":"0.2.0","ip4":{"ip":"10.252.0.6/16","gateway":"10.252.0.1","routes":[{"dst":"0.0.0.0/0"}]},"dns":{"nameservers":["10.252.0.1"],"search":["example.test"]}}""";
    private const string PtpV040 = """{"cniVersion":"0.4.0","interfaces":[{"name":"vethdd9296b9","mac":"3e:85:00:00:00:01"},{"name":"eth0","mac":"6a:2d:00:00:00:02","sandbox":"/run/netns/cnidrv-v040"}],"ips":[{"version":"4","interface":1,"address":"10.252.0.3/16","gateway":"10.252.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}""";
    private const string HostLocalV100 = """{"cniVersion":"1.0.0","ips":[{"address":"10.250.0.3/24","gateway":"10.250.0.1"}],"dns":{}}""";
    private const string HostLocalV031 = """{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.250.0.4/24","gateway":"10.250.0.1"}],"dns":{}}""";
    private const string FullV110 = """{"cniVersion":"1.1.0","interfaces":[{"name":"veth1","mac":"aa:bb:cc:dd:ee:ff","mtu":9001},{"name":"eth0","mtu":9001,"sandbox":"/run/netns/p","socketPath":"/run/sock","pciID":"0000:00:1f.6"}],"ips":[{"interface":1,"address":"10.0.0.5/32","gateway":"169.254.1.1"},{"interface":1,"address":"2001:db8::5/128"}],"routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1","mtu":1400,"advmss":1360,"priority":10,"table":100,"scope":0},{"dst":"::/0"}],"dns":{"nameservers":["10.0.0.2"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""";

    public static TheoryData<string> GoldenDocuments => new() { PtpV020, PtpV040, HostLocalV100, HostLocalV031, FullV110 };

    [Theory]
    [MemberData(nameof(GoldenDocuments))]
    public void ToJsonUtf8_GoldenDocument_RoundTripsByteForByte(string json)
    {
        var result = CniResult.Parse(Encoding.UTF8.GetBytes(json));

        Encoding.UTF8.GetString(result.ToJsonUtf8()).Should().Be(json);
    }

    [Fact]
    public void Parse_PtpV040_ReadsInterfacesIpsRoutes()
    {
        var result = CniResult.Parse(Encoding.UTF8.GetBytes(PtpV040));

        result.CniVersion.Should().Be("0.4.0");
        result.Interfaces.Should().HaveCount(2);
        result.Interfaces[0].Sandbox.Should().BeNull("host-side interfaces have no sandbox");
        result.Interfaces[1].Sandbox.Should().Be("/run/netns/cnidrv-v040");
        result.Ips.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new CniIPConfig(IPAddressAndPrefix.Parse("10.252.0.3/16")) { Gateway = IPAddress.Parse("10.252.0.1"), Interface = 1 });
        result.Routes.Should().ContainSingle().Which.Destination.ToString().Should().Be("0.0.0.0/0");
    }

    [Fact]
    public void Parse_FullV110_ReadsEvery110Field()
    {
        var result = CniResult.Parse(Encoding.UTF8.GetBytes(FullV110));

        result.Interfaces[1].Should().BeEquivalentTo(new CniInterface("eth0") { Mtu = 9001, Sandbox = "/run/netns/p", SocketPath = "/run/sock", PciId = "0000:00:1f.6" });
        result.Routes[0].Should().BeEquivalentTo(new CniRoute(IPAddressAndPrefix.Parse("0.0.0.0/0"))
        {
            Gateway = IPAddress.Parse("169.254.1.1"), Mtu = 1400, AdvMss = 1360, Priority = 10, Table = 100, Scope = 0,
        });
        result.Dns!.Options.Should().Equal("ndots:5");
    }

    [Fact]
    public void Parse_NoVersion_UsesDefaultVersion()
    {
        var result = CniResult.Parse("""{"ips":[{"address":"10.0.0.1/24"}]}"""u8, "1.0.0");
        result.CniVersion.Should().Be("1.0.0");
    }

    [Fact]
    public void Parse_NoVersionNoDefault_ReadsAsV010()
    {
        var result = CniResult.Parse("""{"ip4":{"ip":"10.0.0.1/24"}}"""u8);
        result.CniVersion.Should().Be("0.1.0");
        result.Ips.Should().ContainSingle();
    }

    [Theory]
    [InlineData("""{"cniVersion":"0.4.0","ips":[{"version":"6","address":"10.0.0.1/24"}]}""", "does not match")]
    [InlineData("""{"cniVersion":"0.4.0","ips":[{"version":"5","address":"10.0.0.1/24"}]}""", "is not \"4\" or \"6\"")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}""", "ips[0].address")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/33"}]}""", "ips[0].address")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]}""", "ips[0].address is missing")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","gateway":"2001:db8::1"}]}""", "address family")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","gateway":"10.0.0.1/24"}]}""", "not an IP address")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":0}]}""", "does not index")]
    [InlineData("""{"cniVersion":"1.0.0","interfaces":[{"mac":"aa"}]}""", "interfaces[0].name is missing")]
    [InlineData("""{"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]}""", "routes[0].dst is missing")]
    [InlineData("""{"cniVersion":"1.0.0","ips":"nope"}""", "")]
    [InlineData("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":"0"}]}""", "")]
    [InlineData("""{"cniVersion":"0.2.0","ip4":{"ip":"2001:db8::1/64"}}""", "not an IPv4 address")]
    [InlineData("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.1/24","routes":[{"dst":"x"}]}}""", "ip4.routes[0].dst")]
    [InlineData("""[1,2]""", "")]
    [InlineData("""null""", "")]
    [InlineData("""{"cniVersion":"1.0""", "")]
    [InlineData("""{"cniVersion":"one"}""", "not a semantic version")]
    public void Parse_MalformedResult_Code6NamingTheField(string json, string detail)
    {
        var act = () => CniResult.Parse(Encoding.UTF8.GetBytes(json));

        var ex = act.Should().Throw<CniException>().Which;
        ex.Code.Should().Be(CniErrorCode.DecodingFailure);
        ex.Details.Should().NotBeNullOrEmpty().And.Contain(detail.Length == 0 ? ex.Details! : detail);
    }

    [Fact]
    public void Parse_UnsupportedVersion_Code1()
    {
        var act = () => CniResult.Parse("""{"cniVersion":"2.0.0"}"""u8);
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.IncompatibleVersion);
    }

    [Fact]
    public void ConvertTo_V020FromV040_MovesFirstAddressAndRoutesIntoIp4()
    {
        var legacy = CniResult.Parse(Encoding.UTF8.GetBytes(PtpV040)).ConvertTo("0.2.0");

        Encoding.UTF8.GetString(legacy.ToJsonUtf8()).Should().Be(
            """{"cniVersion":"0.2.0","ip4":{"ip":"10.252.0.3/16","gateway":"10.252.0.1","routes":[{"dst":"0.0.0.0/0"}]},"dns":{}}""");
    }

    [Fact]
    public void ConvertTo_V040FromV020_BuildsVersionedIpsWithoutInterfaces()
    {
        var modern = CniResult.Parse(Encoding.UTF8.GetBytes(PtpV020)).ConvertTo("0.4.0");

        Encoding.UTF8.GetString(modern.ToJsonUtf8()).Should().Be(
            """{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.252.0.6/16","gateway":"10.252.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.252.0.1"],"search":["example.test"]}}""");
    }

    [Fact]
    public void ConvertTo_V040FromV110_DropsInterfaceExtrasKeepsRouteExtras()
    {
        var converted = CniResult.Parse(Encoding.UTF8.GetBytes(FullV110)).ConvertTo("0.4.0");
        var json = Encoding.UTF8.GetString(converted.ToJsonUtf8());

        json.Should().NotContain("socketPath").And.NotContain("pciID").And.NotContain("\"mtu\":9001");
        json.Should().Contain("\"mtu\":1400").And.Contain("\"table\":100").And.Contain("\"version\":\"4\"").And.Contain("\"version\":\"6\"");
    }

    [Fact]
    public void ConvertTo_V100FromV110_IsIdentical()
    {
        var full = CniResult.Parse(Encoding.UTF8.GetBytes(FullV110));
        var json = Encoding.UTF8.GetString(full.ConvertTo("1.0.0").ToJsonUtf8());

        json.Should().Be(FullV110.Replace("\"1.1.0\"", "\"1.0.0\"", StringComparison.Ordinal));
    }

    [Fact]
    public void ConvertTo_V020FromManyAddresses_KeepsFirstOfEachFamilyAndRoutesByFamily()
    {
        var result = new CniResult
        {
            CniVersion = "1.0.0",
            Ips =
            [
                new CniIPConfig(IPAddressAndPrefix.Parse("2001:db8::5/64")),
                new CniIPConfig(IPAddressAndPrefix.Parse("10.0.0.5/24")) { Gateway = IPAddress.Parse("10.0.0.1") },
                new CniIPConfig(IPAddressAndPrefix.Parse("10.0.1.5/24")),
            ],
            Routes =
            [
                new CniRoute(IPAddressAndPrefix.Parse("::/0")),
                new CniRoute(IPAddressAndPrefix.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("10.0.0.1"), Mtu = 1400 },
            ],
        };

        var json = Encoding.UTF8.GetString(result.ConvertTo("0.2.0").ToJsonUtf8());

        json.Should().Be("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.5/24","gateway":"10.0.0.1","routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}]},"ip6":{"ip":"2001:db8::5/64","routes":[{"dst":"::/0"}]}}""");
    }

    [Fact]
    public void ConvertTo_V020RouteWithoutMatchingFamily_IsDropped()
    {
        var result = new CniResult
        {
            CniVersion = "1.0.0",
            Ips = [new CniIPConfig(IPAddressAndPrefix.Parse("10.0.0.5/24"))],
            Routes = [new CniRoute(IPAddressAndPrefix.Parse("::/0"))],
        };

        result.ConvertTo("0.1.0").Routes.Should().BeEmpty();
    }

    [Theory]
    [InlineData("0.1.0")]
    [InlineData("0.2.0")]
    public void ConvertTo_LegacyWithoutAddresses_FailsCannotConvert(string target)
    {
        var result = new CniResult { CniVersion = "1.0.0", Interfaces = [new CniInterface("eth0")] };

        var act = () => result.ConvertTo(target);

        act.Should().Throw<CniException>().WithMessage("cannot convert: no valid IP addresses");
    }

    [Fact]
    public void ConvertTo_UnknownTarget_Code1()
    {
        var act = () => CniResult.Parse(Encoding.UTF8.GetBytes(HostLocalV100)).ConvertTo("9.9.9");
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.IncompatibleVersion);
    }

    public static TheoryData<string, string> AllVersionPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var from in CniVersion.Supported)
        {
            foreach (var to in CniVersion.Supported)
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllVersionPairs))]
    public void ConvertTo_CommonSubset_IsLosslessBetweenEveryPair(string from, string to)
    {
        // What every version can hold: one address per family, dst/gw routes, DNS, no interfaces.
        var original = new CniResult
        {
            CniVersion = from,
            Ips =
            [
                new CniIPConfig(IPAddressAndPrefix.Parse("10.0.0.5/24")) { Gateway = IPAddress.Parse("10.0.0.1") },
                new CniIPConfig(IPAddressAndPrefix.Parse("2001:db8::5/64")),
            ],
            Routes =
            [
                new CniRoute(IPAddressAndPrefix.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("10.0.0.1") },
                new CniRoute(IPAddressAndPrefix.Parse("10.1.0.0/16")),
                new CniRoute(IPAddressAndPrefix.Parse("::/0")),
            ],
            Dns = new CniDns { Nameservers = ["10.0.0.2"], Search = ["a.b"] },
        };

        var there = CniResult.Parse(original.ConvertTo(to).ToJsonUtf8());
        var back = there.ConvertTo(from);

        there.CniVersion.Should().Be(to);
        Encoding.UTF8.GetString(back.ToJsonUtf8()).Should().Be(Encoding.UTF8.GetString(original.ToJsonUtf8()));
    }

    [Fact]
    public void ConvertTo_EveryVersion_ProducesJsonThatParsesAsThatVersion()
    {
        var full = CniResult.Parse(Encoding.UTF8.GetBytes(FullV110));
        foreach (var version in CniVersion.Supported)
        {
            var json = full.ConvertTo(version).ToJsonUtf8();
            var node = JsonNode.Parse(json)!;
            node["cniVersion"]!.GetValue<string>().Should().Be(version);
            CniResult.Parse(json).CniVersion.Should().Be(version);
        }
    }
}
