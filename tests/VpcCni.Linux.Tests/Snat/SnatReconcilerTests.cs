using System.Net;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Snat;

[Trait("Category", "Privileged")]
public sealed class SnatReconcilerTests
{
    private static SnatConfiguration Config() => new("eth0", IPAddress.Parse("10.0.1.10"), [IPNetwork.Parse("10.0.0.0/16")])
    {
        ExcludedCidrs = [IPNetwork.Parse("203.0.113.0/24")],
    };

    private static string Owned(TestNamespace ns) =>
        string.Join('\n', StateSnapshot.ChainLines(ns).Where(l => l.Contains("AWS", StringComparison.Ordinal) || l.Contains("aws-cni", StringComparison.Ordinal) || l.Contains("snat-mark", StringComparison.Ordinal) || l.Contains("ct mark", StringComparison.Ordinal)));

    [Fact]
    public void ToolRunner_ChildProcess_RunsInsideTargetNamespace()
    {
        Privileged.Require();
        using var ns = new TestNamespace("tr");
        var runner = new ToolRunner(NetworkNamespaceExecutor.Shared);
        var inside = runner.RunChecked(ns.Handle, "readlink", ["/proc/self/ns/net"]).Trim();
        inside.Should().Be(ns.Exec("readlink", "/proc/self/ns/net").Trim());
        inside.Should().NotBe(new FileInfo("/proc/self/ns/net").LinkTarget);
    }

    [Fact]
    public void Backend_Auto_DetectsLikeUpstream()
    {
        Privileged.Require();
        using var ns = new TestNamespace("sd");
        var expected = TestNamespace.Run("iptables", "--version").Contains("legacy", StringComparison.Ordinal) ? ConnmarkBackend.Iptables : ConnmarkBackend.Nftables;
        new SnatReconciler(ns.Handle).Backend.Should().Be(expected);
    }

    [Theory]
    [InlineData(ConnmarkBackend.Iptables)]
    [InlineData(ConnmarkBackend.Nftables)]
    public void Reconcile_AppliesIdempotentlyAndFollowsCidrChanges(ConnmarkBackend backend)
    {
        Privileged.Require();
        using var ns = new TestNamespace("sn");
        // Foreign rules that must survive every reconcile.
        ns.Exec("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "lo", "-m", "comment", "--comment", "foreign", "-j", "ACCEPT");
        ns.Exec("iptables", "-t", "nat", "-N", "AWS-SNAT-CHAIN-1");
        ns.Exec("iptables", "-t", "nat", "-A", "AWS-SNAT-CHAIN-1", "-j", "RETURN");
        var reconciler = new SnatReconciler(ns.Handle, backend);

        var first = reconciler.Reconcile(Config());
        first.Changed.Should().BeTrue();
        first.Backend.Should().Be(backend);
        var nat = ns.Exec("iptables-save", "-t", "nat");
        nat.Should().Contain("-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0");
        nat.Should().Contain("-A AWS-SNAT-CHAIN-0 -d 203.0.113.0/24 -m comment --comment \"AWS SNAT CHAIN EXCLUSION\" -j RETURN");
        nat.Should().Contain("--to-source 10.0.1.10 --random-fully");
        nat.Should().Contain("--comment foreign").And.NotContain("AWS-SNAT-CHAIN-1", "stale AWS-SNAT chains are removed");
        ns.Exec("iptables-save", "-t", "mangle").Should().Contain("-A PREROUTING -i eni+ -m comment --comment \"AWS, primary ENI\" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80");
        if (backend == ConnmarkBackend.Iptables)
        {
            nat.Should().Contain("-A AWS-CONNMARK-CHAIN-0 -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --set-xmark 0x80/0x80");
            ns.Exec("nft", "list", "tables").Should().NotContain("aws-cni");
        }
        else
        {
            nat.Should().NotContain("AWS-CONNMARK-CHAIN-0");
            ns.Exec("nft", "list", "table", "ip", "aws-cni").Should().Contain("jump snat-mark").And.Contain("ip daddr 10.0.0.0/16");
        }

        var applied = Owned(ns);
        reconciler.Reconcile(Config()).Changed.Should().BeFalse("live rules already match (canonical iptables-save form)");
        new SnatReconciler(ns.Handle, backend).Reconcile(Config()).IptablesChanged.Should().BeFalse("a fresh reconciler reads the live state");
        Owned(ns).Should().Be(applied);

        var changed = Config() with { VpcCidrs = [IPNetwork.Parse("10.0.0.0/16"), IPNetwork.Parse("100.64.0.0/16")], ExcludedCidrs = [] };
        reconciler.Reconcile(changed).Changed.Should().BeTrue();
        nat = ns.Exec("iptables-save", "-t", "nat");
        nat.Should().Contain("-d 100.64.0.0/16").And.NotContain("203.0.113.0/24");
        nat.Split('\n').Count(l => l.Contains("-j AWS-SNAT-CHAIN-0", StringComparison.Ordinal)).Should().Be(1, "the jump is never duplicated");
        nat.Should().Contain("--comment foreign");
        reconciler.Reconcile(changed).Changed.Should().BeFalse();

        reconciler.Reconcile(changed with { ExternalSnat = true, NodePortSupport = false }).Changed.Should().BeTrue();
        Owned(ns).Should().BeEmpty("external SNAT removes every SNAT and connmark rule");
        ns.Exec("iptables-save", "-t", "nat").Should().Contain("--comment foreign");
    }

    [Fact]
    public void Reconcile_SwitchingBackend_RemovesTheOtherBackendsConnmark()
    {
        Privileged.Require();
        using var ns = new TestNamespace("sw");
        new SnatReconciler(ns.Handle, ConnmarkBackend.Iptables).Reconcile(Config());
        ns.Exec("iptables-save", "-t", "nat").Should().Contain("AWS-CONNMARK-CHAIN-0");
        new SnatReconciler(ns.Handle, ConnmarkBackend.Nftables).Reconcile(Config());
        ns.Exec("iptables-save", "-t", "nat").Should().NotContain("CONNMARK");
        ns.Exec("nft", "list", "tables").Should().Contain("aws-cni");
        new SnatReconciler(ns.Handle, ConnmarkBackend.Iptables).Reconcile(Config());
        ns.Exec("nft", "list", "tables").Should().NotContain("aws-cni");
    }

    [Fact]
    public void Reconcile_InvalidConfig_NamesTheVariable()
    {
        Privileged.Require();
        using var ns = new TestNamespace("sv");
        var reconciler = new SnatReconciler(ns.Handle, ConnmarkBackend.Iptables);
        var act = () => reconciler.Reconcile(Config() with { ExcludedCidrs = [IPNetwork.Parse("2001:db8::/32")] });
        act.Should().Throw<ArgumentException>().WithMessage("*AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS*");
    }
}
