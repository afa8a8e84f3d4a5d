using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniArgsTests
{
    [Fact]
    public void Parse_KubernetesArgs_ReadsEveryPair()
    {
        var args = CniArgs.Parse("K8S_POD_NAME=web-2;K8S_POD_INFRA_CONTAINER_ID=054c;K8S_POD_UID=16ac;IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system");

        args.Pairs.Should().HaveCount(5);
        args.Get("K8S_POD_NAME").Should().Be("web-2");
        args.Get("K8S_POD_NAMESPACE").Should().Be("kube-system");
        args.Get("MISSING").Should().BeNull();
        args.IgnoreUnknown.Should().BeTrue();
    }

    [Theory]
    [InlineData("A")]
    [InlineData("A=1=2")]
    [InlineData("=1")]
    [InlineData("A=1;B")]
    public void Parse_PairWithoutExactlyOneEquals_Code4(string text)
    {
        var act = () => CniArgs.Parse(text);
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
    }

    [Fact]
    public void Parse_EmptyValueAndTrailingSeparator_Accepted()
    {
        var args = CniArgs.Parse("A=;B=2;");
        args.Get("A").Should().BeEmpty();
        args.Get("B").Should().Be("2");
    }

    [Theory]
    [InlineData("IgnoreUnknown=1", true)]
    [InlineData("IgnoreUnknown=true", true)]
    [InlineData("IgnoreUnknown=TRUE", true)]
    [InlineData("IgnoreUnknown=0", false)]
    [InlineData("IgnoreUnknown=false", false)]
    [InlineData("", false)]
    public void IgnoreUnknown_Values_Interpreted(string text, bool expected)
    {
        CniArgs.Parse(text).IgnoreUnknown.Should().Be(expected);
    }

    [Fact]
    public void EnsureOnlyKnownKeys_UnknownKeyWithoutIgnore_Code4NamingKey()
    {
        var act = () => CniArgs.Parse("K8S_POD_NAME=a;SURPRISE=1").EnsureOnlyKnownKeys("K8S_POD_NAME");
        act.Should().Throw<CniException>().Which.Message.Should().Contain("SURPRISE");
    }

    [Fact]
    public void EnsureOnlyKnownKeys_UnknownKeyWithIgnore_Passes()
    {
        var act = () => CniArgs.Parse("K8S_POD_NAME=a;SURPRISE=1;IgnoreUnknown=1").EnsureOnlyKnownKeys("K8S_POD_NAME");
        act.Should().NotThrow();
    }

    [Fact]
    public void TryGet_RepeatedKey_LastWins()
    {
        CniArgs.Parse("A=1;A=2").Get("A").Should().Be("2");
    }

    [Fact]
    public void ToString_RoundTrips()
    {
        CniArgs.Parse("A=1;B=2").ToString().Should().Be("A=1;B=2");
    }
}
