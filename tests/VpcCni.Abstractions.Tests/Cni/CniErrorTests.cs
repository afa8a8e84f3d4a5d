using System.Text;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniErrorTests
{
    [Theory]
    [InlineData(CniErrorCode.IncompatibleVersion, 1)]
    [InlineData(CniErrorCode.UnsupportedField, 2)]
    [InlineData(CniErrorCode.UnknownContainer, 3)]
    [InlineData(CniErrorCode.InvalidEnvironmentVariables, 4)]
    [InlineData(CniErrorCode.IOFailure, 5)]
    [InlineData(CniErrorCode.DecodingFailure, 6)]
    [InlineData(CniErrorCode.InvalidNetworkConfig, 7)]
    [InlineData(CniErrorCode.TryAgainLater, 11)]
    [InlineData(CniErrorCode.PluginNotAvailable, 50)]
    [InlineData(CniErrorCode.PluginNotAvailableLimitedConnectivity, 51)]
    [InlineData(CniErrorCode.Internal, 999)]
    public void ToJsonUtf8_WellKnownCode_HasSpecNumber(CniErrorCode code, int number)
    {
        var json = Encoding.UTF8.GetString(new CniException(code, "m", "d").ToError("1.1.0").ToJsonUtf8());

        json.Should().Be($$"""{"cniVersion":"1.1.0","code":{{number}},"msg":"m","details":"d"}""");
        CniError.Parse(Encoding.UTF8.GetBytes(json)).WellKnownCode.Should().Be(code);
    }

    [Fact]
    public void Parse_GoPluginErrorWithoutVersion_Reads()
    {
        var error = CniError.Parse("""{"code":4,"msg":"required env variables [CNI_NETNS] missing"}"""u8);
        error.Should().Be(new CniError(null, 4, "required env variables [CNI_NETNS] missing"));
    }

    [Fact]
    public void WellKnownCode_PluginDefinedCode_IsNull()
    {
        new CniError("1.0.0", 120, "custom").WellKnownCode.Should().BeNull();
    }

    [Fact]
    public void ToJsonUtf8_NoDetails_OmitsDetails()
    {
        Encoding.UTF8.GetString(new CniError("1.0.0", 7, "Invalid Configuration").ToJsonUtf8())
            .Should().Be("""{"cniVersion":"1.0.0","code":7,"msg":"Invalid Configuration"}""");
    }
}

public sealed class CniVersionResultTests
{
    [Fact]
    public void Parse_V020WithoutList_MeansV010AndV020()
    {
        CniVersionResult.Parse("""{"cniVersion":"0.2.0"}"""u8).SupportedVersions.Should().Equal("0.1.0", "0.2.0");
    }

    [Fact]
    public void Parse_NewerWithoutList_Code6()
    {
        var act = () => CniVersionResult.Parse("""{"cniVersion":"1.0.0"}"""u8);
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.DecodingFailure);
    }

    [Fact]
    public void ToJsonUtf8_RoundTrips()
    {
        var version = new CniVersionResult("1.0.0", ["0.4.0", "1.0.0"]);
        CniVersionResult.Parse(version.ToJsonUtf8()).Should().BeEquivalentTo(version);
    }

    [Theory]
    [InlineData("1.0.0", "0.4.0", 1)]
    [InlineData("0.4.0", "1.0.0", -1)]
    [InlineData("0.10.0", "0.4.0", 1)]
    [InlineData("1.1.0", "1.1.0", 0)]
    public void Compare_Semver_OrdersNumerically(string left, string right, int sign)
    {
        Math.Sign(CniVersion.Compare(left, right)).Should().Be(sign);
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("v1.0.0")]
    [InlineData("01.0.0")]
    [InlineData("1.0.0-rc1")]
    [InlineData("")]
    public void TryParse_NotSemver_False(string text)
    {
        CniVersion.TryParse(text, out _).Should().BeFalse();
    }
}
