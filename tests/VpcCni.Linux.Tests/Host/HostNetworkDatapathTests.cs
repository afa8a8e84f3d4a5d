using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Linux.Host;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Sysctl;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Host;

[Trait("Category", "Privileged")]
public sealed class HostNetworkDatapathTests
{
    private static readonly PhysicalAddress SecondaryMac = PhysicalAddress.Parse("02-00-00-00-0e-01");
    private static readonly PhysicalAddress PrimaryMac = PhysicalAddress.Parse("02-00-00-00-0e-00");

    private static void AttachEni(TestNamespace vpc, TestNamespace node, string vpcEnd, string nodeName, PhysicalAddress mac) =>
        vpc.Client.CreateLink(new VethCreateRequest(vpcEnd, nodeName) { PeerNamespace = node.Handle, PeerHardwareAddress = mac, Mtu = 1500 });

    [Fact]
    public async Task SetupSecondaryEni_FreshLink_ConfiguresAsUpstreamAndIsIdempotent()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n1", "eth1", SecondaryMac);
        var eth1 = node.Client.FindLinkByName("eth1")!;
        node.Client.AddAddress(new InterfaceAddress(eth1.Index, IPAddress.Parse("192.0.2.9"), 24)); // stale address to be removed
        using var host = new HostNetworkDatapath(node.Handle);
        var config = new SecondaryEniConfiguration(SecondaryMac, IPAddress.Parse("10.0.2.10"), IPNetwork.Parse("10.0.2.0/24"), 2) { Mtu = 9001 };

        var link = await host.SetupSecondaryEniAsync(config, TestContext.Current.CancellationToken);
        link.Name.Should().Be("eth1");
        link.Mtu.Should().Be(9001);
        link.IsUp.Should().BeTrue();
        var addresses = node.Exec("ip", "-o", "-4", "addr", "show", "eth1");
        addresses.Should().Contain("inet 10.0.2.10/24").And.NotContain("192.0.2.9");
        var table = node.Exec("ip", "route", "show", "table", "2");
        table.Should().Contain("default via 10.0.2.1 dev eth1").And.Contain("10.0.2.1 dev eth1 scope link");
        node.Exec("ip", "route", "show", "table", "main").Should().NotContain("10.0.2.0/24");
        node.Exec("ip", "rule", "show").Should().Contain("32765:\tfrom 10.0.2.10 lookup 2");

        var once = StateSnapshot.Capture(node.Client);
        await host.SetupSecondaryEniAsync(config, TestContext.Current.CancellationToken);
        StateSnapshot.Capture(node.Client).Should().Equal(once);

        host.RemoveSecondaryEniRules(config.PrimaryAddress);
        node.Exec("ip", "rule", "show").Should().NotContain("32765:");
    }

    [Fact]
    public async Task SetupSecondaryEni_TableAbove255_UsesIt()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n1", "ens6", SecondaryMac);
        using var host = new HostNetworkDatapath(node.Handle);
        await host.SetupSecondaryEniAsync(new SecondaryEniConfiguration(SecondaryMac, IPAddress.Parse("10.1.0.5"), IPNetwork.Parse("10.1.0.0/20"), 10101), TestContext.Current.CancellationToken);
        node.Exec("ip", "route", "show", "table", "10101").Should().Contain("default via 10.1.0.1 dev ens6");
        node.Exec("ip", "rule", "show").Should().Contain("32765:\tfrom 10.1.0.5 lookup 10101");
    }

    [Fact]
    public async Task SetupSecondaryEni_MainTable_Rejected()
    {
        Privileged.Require();
        using var node = new TestNamespace("hn");
        using var host = new HostNetworkDatapath(node.Handle);
        var act = () => host.SetupSecondaryEniAsync(new SecondaryEniConfiguration(SecondaryMac, IPAddress.Parse("10.0.2.10"), IPNetwork.Parse("10.0.2.0/24"), RouteTable.Main), TestContext.Current.CancellationToken);
        await act.Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task FindLinkByMac_AppearsLate_FoundAfterRetryOnFakeClock()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        var time = new FakeTimeProvider();
        using var host = new HostNetworkDatapath(node.Handle, time);
        var find = host.FindLinkByMacAsync(SecondaryMac, TestContext.Current.CancellationToken);
        find.IsCompleted.Should().BeFalse("the ENI is not attached yet");
        AttachEni(vpc, node, "n1", "eth1", SecondaryMac);
        time.Advance(TimeSpan.FromSeconds(3));
        (await find).Name.Should().Be("eth1");
    }

    [Fact]
    public async Task FindLinkByMac_NeverAppears_FailsAfterFiveAttempts()
    {
        Privileged.Require();
        using var node = new TestNamespace("hn");
        var time = new FakeTimeProvider();
        using var host = new HostNetworkDatapath(node.Handle, time);
        var find = host.FindLinkByMacAsync(SecondaryMac, TestContext.Current.CancellationToken);
        for (var i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromSeconds(3));
        }

        var act = async () => await find;
        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("02:00:00:00:0e:01").And.Contain("5 attempts");
    }

    [Fact]
    public async Task SetupPrimaryEni_SetsMtuSysctlsAndConnmarkRule()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        using var host = new HostNetworkDatapath(node.Handle);
        var config = new PrimaryEniConfiguration(PrimaryMac) { Mtu = 9001 };
        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);
        node.Client.FindLinkByName("eth0")!.Mtu.Should().Be(9001);
        var sysctl = new NamespaceSysctl();
        sysctl.Read(node.Handle, "net/ipv4/conf/eth0/rp_filter").Should().Be("2");
        node.Exec("ip", "rule", "show").Should().Contain("1024:\tfrom all fwmark 0x80/0x80 lookup main");
        var once = StateSnapshot.Capture(node.Client);
        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);
        StateSnapshot.Capture(node.Client).Should().Equal(once);

        await host.SetupPrimaryEniAsync(config with { ExternalSnat = true, NodePortSupport = false }, TestContext.Current.CancellationToken);
        node.Exec("ip", "rule", "show").Should().NotContain("fwmark");
    }

    [Fact]
    public async Task SetupPrimaryEni_TcpEarlyDemuxSetByInit_LeftAsIs()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        var sysctl = new NamespaceSysctl();
        sysctl.Write(node.Handle, "net/ipv4/tcp_early_demux", "0");
        using var host = new HostNetworkDatapath(node.Handle);

        await host.SetupPrimaryEniAsync(new PrimaryEniConfiguration(PrimaryMac) { Mtu = 9001 }, TestContext.Current.CancellationToken);

        sysctl.Read(node.Handle, "net/ipv4/tcp_early_demux").Should().Be("0", "DISABLE_TCP_EARLY_DEMUX is the init command's, as upstream");
    }

    private static string[] ForwardRules(TestNamespace node, string save) =>
        [.. node.Exec(save, "-t", "filter").Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("-A FORWARD ", StringComparison.Ordinal))];

    [Fact]
    public async Task SetupPrimaryEni_IPv6Mode_InsertsIPv4NodeLocalRejectFirstInForwardOnce()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        node.Exec("iptables", "-w", "5", "-t", "filter", "-A", "FORWARD", "-d", "192.0.2.0/24", "-j", "ACCEPT");
        using var host = new HostNetworkDatapath(node.Handle);
        var config = new PrimaryEniConfiguration(PrimaryMac) { EnableIPv6 = true };

        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);
        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);

        var rules = ForwardRules(node, "iptables-save");
        rules.Where(r => r.Contains("Block Node Local Pod access", StringComparison.Ordinal)).Should().ContainSingle("a second setup must not duplicate it");
        rules[0].Should().StartWith("-A FORWARD -d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment \"Block Node Local Pod access via IPv4\" -j REJECT", "it is inserted at position 1");
        ForwardRules(node, "ip6tables-save").Should().BeEmpty("IPv6 mode blocks the IPv4 node-local range only");
    }

    [Fact]
    public async Task SetupPrimaryEni_IPv4WithV6Egress_InsertsIPv6NodeLocalRejectOnce()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        using var host = new HostNetworkDatapath(node.Handle);
        var config = new PrimaryEniConfiguration(PrimaryMac) { EnableV6Egress = true };

        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);
        await host.SetupPrimaryEniAsync(config, TestContext.Current.CancellationToken);

        var rules = ForwardRules(node, "ip6tables-save");
        rules.Should().ContainSingle().Which.Should()
            .MatchRegex("^-A FORWARD -d fd00::ac:0/118 -m conntrack --ctstate NEW -m comment --comment \"Block Node Local Pod access via IPv6\" -j REJECT");
        ForwardRules(node, "iptables-save").Should().BeEmpty();
    }

    [Fact]
    public async Task SetupPrimaryEni_IPv4WithoutV6Egress_NoNodeLocalReject()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        using var host = new HostNetworkDatapath(node.Handle);

        await host.SetupPrimaryEniAsync(new PrimaryEniConfiguration(PrimaryMac), TestContext.Current.CancellationToken);

        ForwardRules(node, "iptables-save").Should().BeEmpty();
        ForwardRules(node, "ip6tables-save").Should().BeEmpty();
    }

    [Fact]
    public async Task SetupPrimaryEni_NodeLocalRejectCannotBeInstalled_FailsNamingTheRule()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        // `false` exits 1 for both the check and the insert, as a broken iptables would.
        using var host = new HostNetworkDatapath(node.Handle) { NetfilterTools = new NetfilterTools { Iptables = "false" } };

        var act = () => host.SetupPrimaryEniAsync(new PrimaryEniConfiguration(PrimaryMac) { EnableIPv6 = true }, TestContext.Current.CancellationToken);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("169.254.172.0/22").And.Contain("FORWARD");
    }

    [Fact]
    public void UpdateExternalServiceRules_Cidrs_OneMainRuleEachAtPriority1535AndStaleOnesRemoved()
    {
        Privileged.Require();
        using var node = new TestNamespace("hn");
        node.Exec("ip", "rule", "add", "to", "198.51.100.0/24", "lookup", "main", "prio", "1535");
        node.Exec("ip", "rule", "add", "to", "203.0.113.0/24", "lookup", "main", "prio", "1535");
        node.Exec("ip", "rule", "add", "to", "192.0.2.0/24", "lookup", "7", "prio", "1535");
        using var host = new HostNetworkDatapath(node.Handle);

        host.UpdateExternalServiceRules([IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("10.100.0.0/16")]);

        var rules = node.Exec("ip", "rule", "show");
        rules.Should().Contain("1535:\tfrom all to 203.0.113.0/24 lookup main")
            .And.Contain("1535:\tfrom all to 10.100.0.0/16 lookup main")
            .And.NotContain("198.51.100.0/24", "a CIDR no longer listed loses its rule")
            .And.Contain("1535:\tfrom all to 192.0.2.0/24 lookup 7", "only main-table rules are upstream's");
        var once = StateSnapshot.Capture(node.Client);
        host.UpdateExternalServiceRules([IPNetwork.Parse("203.0.113.0/24"), IPNetwork.Parse("10.100.0.0/16")]);
        StateSnapshot.Capture(node.Client).Should().Equal(once);

        host.UpdateExternalServiceRules([]);
        node.Exec("ip", "rule", "show").Should().NotContain("1535:\tfrom all to 203.0.113.0/24").And.NotContain("10.100.0.0/16");
    }

    [Fact]
    public void ExternalServiceRule_SourceRuleToSecondaryTable_TrafficToCidrUsesMain()
    {
        Privileged.Require();
        using var vpc = new TestNamespace("hv");
        using var node = new TestNamespace("hn");
        AttachEni(vpc, node, "n0", "eth0", PrimaryMac);
        AttachEni(vpc, node, "n1", "eth1", SecondaryMac);
        vpc.Exec("ip", "link", "set", "n0", "up");
        vpc.Exec("ip", "link", "set", "n1", "up");
        node.Exec("ip", "link", "set", "eth0", "up");
        node.Exec("ip", "link", "set", "eth1", "up");
        node.Exec("ip", "addr", "add", "10.0.0.10/24", "dev", "eth0");
        node.Exec("ip", "route", "add", "default", "via", "10.0.0.1", "dev", "eth0");
        node.Exec("ip", "addr", "add", "10.0.1.10/24", "dev", "eth1");
        node.Exec("ip", "route", "add", "default", "via", "10.0.1.1", "dev", "eth1", "table", "2");
        // As a pod's source rule (1536) would: everything from this address goes by the secondary ENI's table.
        node.Exec("ip", "rule", "add", "from", "10.0.1.10", "lookup", "2", "prio", "1536");
        using var host = new HostNetworkDatapath(node.Handle);

        host.UpdateExternalServiceRules([IPNetwork.Parse("203.0.113.0/24")]);

        node.Exec("ip", "route", "get", "203.0.113.5", "from", "10.0.1.10").Should().Contain("dev eth0");
        node.Exec("ip", "route", "get", "198.51.100.5", "from", "10.0.1.10").Should().Contain("dev eth1", "other destinations keep the pod's ENI table");
    }
}
