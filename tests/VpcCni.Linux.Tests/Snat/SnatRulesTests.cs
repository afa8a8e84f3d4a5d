using System.Net;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Tests.Snat;

public sealed class SnatRulesTests
{
    private static SnatConfiguration Config() => new("eth0", IPAddress.Parse("10.0.1.10"), [IPNetwork.Parse("10.0.0.0/16"), IPNetwork.Parse("100.64.0.0/16")])
    {
        ExcludedCidrs = [IPNetwork.Parse("203.0.113.0/24")],
    };

    [Fact]
    public void DesiredNat_IptablesBackend_RendersUpstreamChainsInUpstreamOrder()
    {
        var nat = SnatRules.DesiredNat(Config(), ConnmarkBackend.Iptables);
        nat.Chains[SnatRules.SnatChain].Should().Equal(
            "-A AWS-SNAT-CHAIN-0 -d 203.0.113.0/24 -m comment --comment \"AWS SNAT CHAIN EXCLUSION\" -j RETURN",
            "-A AWS-SNAT-CHAIN-0 -d 100.64.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN",
            "-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN",
            "-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment \"AWS, SNAT\" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.10 --random-fully");
        nat.Chains[SnatRules.ConnmarkChain].Should().HaveCount(4).And.EndWith("-A AWS-CONNMARK-CHAIN-0 -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --set-xmark 0x80/0x80");
        nat.BuiltinRules.Should().Equal(
            "-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0",
            "-A PREROUTING -i eni+ -m comment --comment \"AWS, outbound connections\" -j AWS-CONNMARK-CHAIN-0",
            "-A PREROUTING -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80");
    }

    [Theory]
    [InlineData(SnatRandomization.Random, " --random")]
    [InlineData(SnatRandomization.None, "10.0.1.10")]
    public void DesiredNat_Randomization_SelectsFlag(SnatRandomization mode, string ending) =>
        SnatRules.DesiredNat(Config() with { Randomization = mode }, ConnmarkBackend.Nftables).Chains[SnatRules.SnatChain][^1].Should().EndWith(ending);

    [Fact]
    public void DesiredNat_ExclusionOfEverything_WrittenWithoutDestination() =>
        SnatRules.DesiredNat(Config() with { ExcludedCidrs = [IPNetwork.Parse("0.0.0.0/0")] }, ConnmarkBackend.Nftables)
            .Chains[SnatRules.SnatChain][0].Should().Be("-A AWS-SNAT-CHAIN-0 -m comment --comment \"AWS SNAT CHAIN EXCLUSION\" -j RETURN");

    [Fact]
    public void DesiredNat_ExternalSnat_OwnsNothing()
    {
        var nat = SnatRules.DesiredNat(Config() with { ExternalSnat = true }, ConnmarkBackend.Iptables);
        nat.BuiltinRules.Should().BeEmpty();
        nat.Chains.Should().BeEmpty();
        SnatRules.DesiredMangle(Config() with { ExternalSnat = true, NodePortSupport = false }).BuiltinRules.Should().BeEmpty();
    }

    [Fact]
    public void ParseOwnedAndBuildRestore_ForeignRulesUntouchedStaleChainsRemoved()
    {
        const string save = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            :AWS-SNAT-CHAIN-0 - [0:0]
            :AWS-SNAT-CHAIN-1 - [0:0]
            :KUBE-POSTROUTING - [0:0]
            -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
            -A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0
            -A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN
            -A AWS-SNAT-CHAIN-1 -j RETURN
            COMMIT
            """;
        var current = SnatRules.ParseOwned("nat", save);
        current.BuiltinRules.Should().ContainSingle();
        current.Chains.Keys.Should().BeEquivalentTo(["AWS-SNAT-CHAIN-0", "AWS-SNAT-CHAIN-1"]);
        var desired = SnatRules.DesiredNat(Config(), ConnmarkBackend.Nftables);
        current.SameAs(desired).Should().BeFalse();
        var script = SnatRules.BuildRestore(current, desired);
        script.Should().StartWith("*nat\n:AWS-SNAT-CHAIN-0 - [0:0]\n-D POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0\n-F AWS-SNAT-CHAIN-1\n-X AWS-SNAT-CHAIN-1\n");
        script.Should().NotContain("KUBE").And.EndWith("-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0\nCOMMIT\n");
    }

    [Fact]
    public void RenderNftables_ReplacesTableAtomicallyWithUpstreamChains()
    {
        var script = SnatRules.RenderNftables(Config());
        script.Should().StartWith("add table ip aws-cni\ndelete table ip aws-cni\ntable ip aws-cni {");
        script.Should().Contain("type nat hook prerouting priority -90; policy accept;");
        script.Should().Contain("iifname \"eni*\" counter jump snat-mark");
        script.Should().Contain("ip daddr 203.0.113.0/24 counter return");
        script.Should().Contain("ct mark set ct mark | 0x80");
    }
}
