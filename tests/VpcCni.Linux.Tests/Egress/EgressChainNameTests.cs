using System.Net;
using VpcCni.Linux.Egress;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Tests.Egress;

public sealed class EgressChainNameTests
{
    // Expected values computed independently: python3 -c "import hashlib; print(('CNI-E4-' + hashlib.sha512(b'egress-cniabc').hexdigest())[:28])"
    [Theory]
    [InlineData("egress-cni", "abc", false, "CNI-E4-93c6754694909929ac059")]
    [InlineData("egress-cni", "abc", true, "CNI-E6-93c6754694909929ac059")]
    [InlineData("aws-cni", "0123456789abcdef", false, "CNI-E4-c5865417b3f252041c44a")]
    public void ChainName_NetworkAndContainer_IsPrefixPlusSha512TruncatedTo28(string network, string containerId, bool ipv6, string expected)
    {
        var chain = EgressDatapath.ChainName(network, containerId, ipv6);

        chain.Should().Be(expected).And.HaveLength(28);
    }

    [Fact]
    public void RuleComment_NetworkAndContainer_IsUpstreamFormat() =>
        EgressDatapath.RuleComment("aws-cni", "c1").Should().Be("name: \"aws-cni\" id: \"c1\"");

    [Fact]
    public void Rules_IPv4RandomFully_RenderAsIptablesSavePrintsThem()
    {
        var (chain, jump) = EgressSnat.Rules("CNI-E4-x", "name: \"n\" id: \"c\"", IPAddress.Parse("169.254.172.2"), IPAddress.Parse("203.0.113.1"), SnatRandomization.RandomFully);

        chain.Should().Equal(
            "-A CNI-E4-x -d 224.0.0.0/4 -m comment --comment \"name: \\\"n\\\" id: \\\"c\\\"\" -j ACCEPT",
            "-A CNI-E4-x -m comment --comment \"name: \\\"n\\\" id: \\\"c\\\"\" -j SNAT --to-source 203.0.113.1 --random-fully");
        jump.Should().Be("-A POSTROUTING -s 169.254.172.2/32 -m comment --comment \"name: \\\"n\\\" id: \\\"c\\\"\" -j CNI-E4-x");
    }

    [Theory]
    [InlineData(SnatRandomization.Random, " --random")]
    [InlineData(SnatRandomization.None, "")]
    public void Rules_IPv6_AcceptsMulticastAndSnatsToNode(SnatRandomization randomization, string suffix)
    {
        var (chain, jump) = EgressSnat.Rules("CNI-E6-x", "c", IPAddress.Parse("fd00::ac:2"), IPAddress.Parse("2001:db8::1"), randomization);

        chain[0].Should().Contain("-d ff00::/8");
        chain[1].Should().EndWith("-j SNAT --to-source 2001:db8::1" + suffix);
        jump.Should().StartWith("-A POSTROUTING -s fd00::ac:2/128 ");
    }
}
