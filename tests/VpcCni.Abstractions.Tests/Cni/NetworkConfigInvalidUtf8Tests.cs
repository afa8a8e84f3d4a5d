using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>
/// Invalid UTF-8 inside "prevResult" or "dns": once an InvalidOperationException escaped NetworkConfig.Parse (the
/// runner's code 999); now they are read in place like the rest of the configuration.
/// </summary>
public sealed class NetworkConfigInvalidUtf8Tests
{
    [Fact]
    public void Parse_InvalidUtf8InAnUnknownPrevResultKey_ReadsPrevResult()
    {
        byte[] json = [.. "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5/32\"}],\"x\":\""u8, 0xFF, .. "\"}}"u8];

        var config = NetworkConfig.Parse(json);

        config.PrevResult!.Ips.Should().ContainSingle().Which.Address.ToString().Should().Be("10.0.0.5/32");
    }

    [Fact]
    public void Parse_InvalidUtf8InDnsDomain_DecodingFailure()
    {
        byte[] json = [.. "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":{\"domain\":\""u8, 0xFF, .. "\"}}"u8];

        var act = () => NetworkConfig.Parse(json);

        act.Should().Throw<CniException>().Which.Should().Match<CniException>(e => e.Code == CniErrorCode.DecodingFailure && e.Message == "failed to decode dns");
    }
}
