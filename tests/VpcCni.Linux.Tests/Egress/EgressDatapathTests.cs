using System.Net;
using VpcCni.Cni;
using VpcCni.Linux.Egress;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Egress;

/// <summary>EgressDatapath in namespaces of its own: rollback of a late failure, and teardown without the pod.</summary>
public sealed class EgressDatapathTests : IDisposable
{
    private readonly TestNamespace _node;
    private readonly TestNamespace _pod;

    public EgressDatapathTests()
    {
        Privileged.Require();
        _node = new TestNamespace("edn");
        _pod = new TestNamespace("edp");
    }

    private EgressRequest Request() => new(_pod.Path, "eth0", "egresstest", "c1", IPAddress.Parse("203.0.113.1"))
    {
        Address = IPAddressAndPrefix.Parse("169.254.172.5/22"),
        Gateway = IPAddress.Parse("169.254.172.1"),
        Routes = [IPNetwork.Parse("0.0.0.0/0")],
        Mtu = 1500,
    };

    [Fact]
    public async Task SetupAsync_SnatStepFails_RemovesTheVethAndRoutes()
    {
        // The last step (iptables-restore) fails: everything before it must be undone.
        using var datapath = new EgressDatapath(_node.Handle, new NetfilterTools { IptablesRestore = "/bin/false" });
        var linksBefore = _node.Client.GetLinks().Count;

        var act = () => datapath.SetupAsync(Request(), TestContext.Current.CancellationToken);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("add nat chain");
        _pod.Client.FindLinkByName(EgressDatapath.IPv4InterfaceName).Should().BeNull();
        _node.Client.GetLinks().Should().HaveCount(linksBefore);
        _node.Exec("iptables", "-t", "nat", "-S").Should().NotContain("CNI-E4-");
    }

    [Fact]
    public async Task Teardown_PodNamespaceGone_StillRemovesTheChainAndJump()
    {
        using var datapath = new EgressDatapath(_node.Handle);
        await datapath.SetupAsync(Request(), TestContext.Current.CancellationToken);
        var chain = EgressDatapath.ChainName("egresstest", "c1", ipv6Egress: false);
        _node.Exec("iptables", "-t", "nat", "-S", "POSTROUTING").Should().Contain("-j " + chain);

        var removed = datapath.Teardown(Request() with { PodNamespacePath = "" });

        removed.Should().BeTrue();
        _node.Exec("iptables", "-t", "nat", "-S").Should().NotContain(chain);
        datapath.Teardown(Request()).Should().BeTrue("the veth was still in the pod");
        datapath.Teardown(Request()).Should().BeFalse("nothing is left the second time");
    }

    [Fact]
    public async Task Check_AfterSetup_ReportsNothingAndAfterRouteLossReportsIt()
    {
        using var datapath = new EgressDatapath(_node.Handle);
        await datapath.SetupAsync(Request(), TestContext.Current.CancellationToken);
        datapath.Check(Request()).Should().BeEmpty();

        _pod.Exec("ip", "route", "del", "default");

        datapath.Check(Request() with { Address = null }).Should().ContainSingle().Which.Should().Contain("0.0.0.0/0");
        datapath.Teardown(Request());
    }

    public void Dispose()
    {
        _pod?.Dispose();
        _node?.Dispose();
    }
}
