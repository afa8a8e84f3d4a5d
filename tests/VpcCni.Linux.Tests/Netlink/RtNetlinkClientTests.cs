using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Netlink;

[Trait("Category", "Privileged")]
public sealed class RtNetlinkClientTests
{
    [Fact]
    public void GetLinks_FreshNamespace_ListsLoopbackOnly()
    {
        Privileged.Require();
        using var ns = new TestNamespace("nl");
        var links = ns.Client.GetLinks();
        links.Select(l => l.Name).Should().Equal("lo");
        links[0].IsUp.Should().BeTrue();
    }

    [Fact]
    public void GetNamespaceId_PeerNamespaceOfAVeth_MatchesTheLinksNetNsIdAndIsNullWithoutPeer()
    {
        Privileged.Require();
        using var host = new TestNamespace("nh");
        using var peer = new TestNamespace("np");
        using var unrelated = new TestNamespace("nu");
        host.Client.CreateLink(new VethCreateRequest("vh0", "vp0") { PeerNamespace = peer.Handle });

        var id = host.Client.GetNamespaceId(peer.Handle);

        id.Should().NotBeNull().And.Be(host.Client.FindLinkByName("vh0")!.LinkNetNsId);
        host.Client.GetNamespaceId(unrelated.Handle).Should().BeNull("no link of the host has a peer there");
    }

    [Fact]
    public void CreateLink_Veth_CanBeFoundConfiguredAndDeleted()
    {
        Privileged.Require();
        using var ns = new TestNamespace("nl");
        var mac = PhysicalAddress.Parse("02-00-00-00-00-11");
        ns.Client.CreateLink(new VethCreateRequest("dum0", "dum0p") { Mtu = 1400, HardwareAddress = mac });
        var link = ns.Client.FindLinkByName("dum0")!;
        link.Kind.Should().Be("veth");
        link.Mtu.Should().Be(1400);
        link.HardwareAddress.Should().Be(mac);
        ns.Client.FindLinkByHardwareAddress(mac)!.Index.Should().Be(link.Index);
        ns.Client.FindLinkByIndex(link.Index)!.Name.Should().Be("dum0");

        ns.Client.SetLinkMtu(link.Index, 9001);
        ns.Client.SetLinkHardwareAddress(link.Index, PhysicalAddress.Parse("02-00-00-00-00-22"));
        ns.Client.SetLinkUp(link.Index);
        var updated = ns.Client.FindLinkByName("dum0")!;
        updated.Mtu.Should().Be(9001);
        updated.HardwareAddress.Should().Be(PhysicalAddress.Parse("02-00-00-00-00-22"));
        updated.IsUp.Should().BeTrue();
        ns.Exec("ip", "-o", "link", "show", "dum0").Should().Contain("mtu 9001").And.Contain("02:00:00:00:00:22");

        ns.Client.SetLinkDown(link.Index);
        ns.Client.FindLinkByName("dum0")!.IsUp.Should().BeFalse();
        ns.Client.DeleteLink("dum0").Should().BeTrue();
        ns.Client.FindLinkByName("dum0").Should().BeNull();
        ns.Client.DeleteLink("dum0").Should().BeFalse();
    }

    [Fact]
    public void CreateLink_Dummy_CreatedWhenKernelHasDummyDriver()
    {
        Privileged.Require();
        using var ns = new TestNamespace("du");
        KernelSupport.CreateOrSkip(ns.Client, new DummyCreateRequest("dum1") { Mtu = 1300 });
        var link = ns.Client.FindLinkByName("dum1")!;
        link.Kind.Should().Be("dummy");
        link.Mtu.Should().Be(1300);
    }

    [Fact]
    public void CreateLink_DuplicateName_ThrowsTypedExceptionWithErrno()
    {
        Privileged.Require();
        using var ns = new TestNamespace("nl");
        ns.Client.CreateLink(new VethCreateRequest("dup0", "dup0p"));
        var act = () => ns.Client.CreateLink(new VethCreateRequest("dup0", "dup1p"));
        var error = act.Should().Throw<NetlinkException>().Which;
        error.IsAlreadyExists.Should().BeTrue();
        error.ErrnoName.Should().Be("EEXIST");
        error.Message.Should().Contain("RTM_NEWLINK dup0");
    }

    [Fact]
    public void AddRoute_GatewayNotOnLink_CarriesKernelExtendedAck()
    {
        Privileged.Require();
        using var ns = new TestNamespace("nl");
        ns.Client.CreateLink(new VethCreateRequest("d0", "d0p"));
        ns.Client.SetLinkUp(ns.Client.FindLinkByName("d0p")!.Index);
        var index = ns.Client.FindLinkByName("d0")!.Index;
        ns.Client.SetLinkUp(index);
        var act = () => ns.Client.AddRoute(new Route(IPNetwork.Parse("10.9.0.0/16")) { Gateway = IPAddress.Parse("192.0.2.1"), OutputLinkIndex = index });
        var error = act.Should().Throw<NetlinkException>().Which;
        error.Errno.Should().Be(101); // ENETUNREACH
        error.ExtendedAckMessage.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void CreateLink_VethWithPeerInOtherNamespace_PeerAppearsThere()
    {
        Privileged.Require();
        using var a = new TestNamespace("va");
        using var b = new TestNamespace("vb");
        var peerMac = PhysicalAddress.Parse("02-00-00-00-01-02");
        a.Client.CreateLink(new VethCreateRequest("hostend", "eth0") { Mtu = 1500, PeerMtu = 1400, PeerNamespace = b.Handle, PeerHardwareAddress = peerMac });
        a.Client.FindLinkByName("hostend")!.Kind.Should().Be("veth");
        var peer = b.Client.FindLinkByName("eth0")!;
        peer.Mtu.Should().Be(1400);
        peer.HardwareAddress.Should().Be(peerMac);
        a.Client.FindLinkByName("eth0").Should().BeNull();

        a.Client.DeleteLink("hostend").Should().BeTrue();
        b.Client.FindLinkByName("eth0").Should().BeNull();
    }

    [Fact]
    public void CreateLink_Vlan_CreatedOnParent()
    {
        Privileged.Require();
        using var a = new TestNamespace("vl");
        using var b = new TestNamespace("vl");
        a.Client.CreateLink(new VethCreateRequest("trunk0", "trunk0p"));
        var parent = a.Client.FindLinkByName("trunk0")!;
        KernelSupport.CreateOrSkip(a.Client, new VlanCreateRequest("vlan.eth.7", parent.Index, 7) { HardwareAddress = PhysicalAddress.Parse("02-00-00-00-07-07") });
        var vlan = a.Client.FindLinkByName("vlan.eth.7")!;
        vlan.Kind.Should().Be("vlan");
        vlan.ParentIndex.Should().Be(parent.Index);
        a.Exec("ip", "-d", "link", "show", "vlan.eth.7").Should().Contain("vlan protocol 802.1Q id 7");

    }

    [Fact]
    public void MoveLinkToNamespace_Veth_DisappearsHereAppearsThere()
    {
        Privileged.Require();
        using var a = new TestNamespace("mv");
        using var b = new TestNamespace("mv");
        a.Client.CreateLink(new VethCreateRequest("mover", "moverp"));
        a.Client.MoveLinkToNamespace(a.Client.FindLinkByName("mover")!.Index, b.Handle);
        a.Client.FindLinkByName("mover").Should().BeNull();
        b.Client.FindLinkByName("mover").Should().NotBeNull();
    }

    [Fact]
    public void Addresses_AddListReplaceDelete_RoundTrip()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ad");
        ns.Client.CreateLink(new VethCreateRequest("d0", "d0p"));
        ns.Client.SetLinkUp(ns.Client.FindLinkByName("d0p")!.Index);
        var index = ns.Client.FindLinkByName("d0")!.Index;
        ns.Client.SetLinkUp(index);
        var v4 = new InterfaceAddress(index, IPAddress.Parse("10.0.2.10"), 24);
        var v6 = new InterfaceAddress(index, IPAddress.Parse("2001:db8::5"), 64) { Flags = 0x02 };
        ns.Client.AddAddress(v4);
        ns.Client.AddAddress(v6);
        ns.Client.ReplaceAddress(v4);
        var listed = ns.Client.GetAddresses(linkIndex: index);
        listed.Should().Contain(a => a.Address.Equals(v4.Address) && a.PrefixLength == 24);
        listed.Should().Contain(a => a.Address.Equals(v6.Address) && a.PrefixLength == 64);
        ns.Client.GetAddresses(AddressFamily.InterNetwork, index).Should().ContainSingle();
        ns.Exec("ip", "-o", "addr", "show", "d0").Should().Contain("10.0.2.10/24").And.Contain("2001:db8::5/64");

        ns.Client.DeleteAddress(v4);
        ns.Client.GetAddresses(AddressFamily.InterNetwork, index).Should().BeEmpty();
        var again = () => ns.Client.DeleteAddress(v4);
        again.Should().Throw<NetlinkException>().Which.IsNotFound.Should().BeTrue();
    }

    [Fact]
    public void Routes_TablesScopesAndReplace_MatchIpOutput()
    {
        Privileged.Require();
        using var ns = new TestNamespace("rt");
        ns.Client.CreateLink(new VethCreateRequest("d0", "d0p"));
        ns.Client.SetLinkUp(ns.Client.FindLinkByName("d0p")!.Index);
        var index = ns.Client.FindLinkByName("d0")!.Index;
        ns.Client.SetLinkUp(index);
        ns.Client.AddAddress(new InterfaceAddress(index, IPAddress.Parse("10.0.2.10"), 24));

        var gateway = new Route(IPNetwork.Parse("10.0.2.1/32")) { OutputLinkIndex = index, Scope = RouteScope.Link, Table = 10001 };
        var defaultRoute = new Route(IPNetwork.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("10.0.2.1"), OutputLinkIndex = index, Table = 10001 };
        ns.Client.AddRoute(gateway);
        ns.Client.AddRoute(defaultRoute);
        ns.Client.ReplaceRoute(defaultRoute);
        ns.Client.AddRoute(new Route(IPNetwork.Parse("192.0.2.0/24")) { Gateway = IPAddress.Parse("10.0.2.1"), Table = 3 });

        var table = ns.Client.GetRoutes(new RouteFilter { Table = 10001 });
        table.Should().HaveCount(2);
        table.Should().Contain(r => r.Destination.PrefixLength == 0 && r.Gateway!.Equals(IPAddress.Parse("10.0.2.1")));
        table.Should().Contain(r => r.Scope == RouteScope.Link && r.Destination.Equals(IPNetwork.Parse("10.0.2.1/32")));
        ns.Exec("ip", "route", "show", "table", "10001").Should().Contain("default via 10.0.2.1 dev d0").And.Contain("10.0.2.1 dev d0 scope link");
        ns.Client.GetRoutes(new RouteFilter { Table = 3 }).Should().ContainSingle().Which.OutputLinkIndex.Should().Be(index);

        // Kernel-added subnet route in main, then removed as the ENI setup does.
        var subnet = ns.Client.GetRoutes(new RouteFilter { Table = RouteTable.Main, Destination = IPNetwork.Parse("10.0.2.0/24") }).Should().ContainSingle().Subject;
        subnet.Protocol.Should().Be(RouteProtocol.Kernel);
        ns.Client.DeleteRoute(subnet);
        ns.Client.GetRoutes(new RouteFilter { Table = RouteTable.Main, Destination = IPNetwork.Parse("10.0.2.0/24") }).Should().BeEmpty();

        ns.Client.DeleteRoute(defaultRoute);
        ns.Client.DeleteRoute(gateway);
        ns.Client.GetRoutes(new RouteFilter { Table = 10001 }).Should().BeEmpty();
        var missing = () => ns.Client.DeleteRoute(gateway);
        missing.Should().Throw<NetlinkException>().Which.IsNotFound.Should().BeTrue();
    }

    [Fact]
    public void Rules_AllSelectors_RoundTripAndMatchIpOutput()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ru");
        var rules = new[]
        {
            new RoutingRule(AddressFamily.InterNetwork) { Priority = 512, Destination = IPNetwork.Parse("10.0.2.20/32"), Table = RouteTable.Main },
            new RoutingRule(AddressFamily.InterNetwork) { Priority = 1536, Source = IPNetwork.Parse("10.0.2.20/32"), Table = 2 },
            new RoutingRule(AddressFamily.InterNetwork) { Priority = 1024, FirewallMark = 0x80, FirewallMask = 0x80, Table = RouteTable.Main },
            new RoutingRule(AddressFamily.InterNetwork) { Priority = 10, InputInterface = "vlan.eth.1", Table = 101 },
            new RoutingRule(AddressFamily.InterNetwork) { Priority = 32765, Source = IPNetwork.Parse("10.0.2.10/32"), Table = 10002 },
            new RoutingRule(AddressFamily.InterNetworkV6) { Priority = 512, Destination = IPNetwork.Parse("2001:db8::20/128"), Table = RouteTable.Main },
        };
        foreach (var rule in rules)
        {
            ns.Client.AddRule(rule);
        }

        var listed = ns.Client.GetRules();
        foreach (var rule in rules.Where(r => r.Family == AddressFamily.InterNetwork))
        {
            listed.Should().ContainEquivalentOf(rule);
        }

        ns.Client.GetRules(AddressFamily.InterNetworkV6).Should().ContainEquivalentOf(rules[5]);
        var text = ns.Exec("ip", "rule", "show");
        text.Should().Contain("512:\tfrom all to 10.0.2.20 lookup main");
        text.Should().Contain("1536:\tfrom 10.0.2.20 lookup 2");
        text.Should().Contain("1024:\tfrom all fwmark 0x80/0x80 lookup main");
        text.Should().Contain("10:\tfrom all iif vlan.eth.1 [detached] lookup 101");
        text.Should().Contain("32765:\tfrom 10.0.2.10 lookup 10002");

        var duplicate = () => ns.Client.AddRule(rules[0]);
        duplicate.Should().Throw<NetlinkException>().Which.IsAlreadyExists.Should().BeTrue();
        foreach (var rule in rules)
        {
            ns.Client.DeleteRule(rule);
        }

        ns.Client.GetRules().Should().NotContain(r => r.Priority == 512 || r.Priority == 1536 || r.Priority == 10);
    }

    [Fact]
    public void Neighbors_Permanent_AddReplaceListDelete()
    {
        Privileged.Require();
        using var ns = new TestNamespace("nb");
        ns.Client.CreateLink(new VethCreateRequest("d0", "d0p"));
        ns.Client.SetLinkUp(ns.Client.FindLinkByName("d0p")!.Index);
        var index = ns.Client.FindLinkByName("d0")!.Index;
        ns.Client.SetLinkUp(index);
        var entry = new Neighbor(index, IPAddress.Parse("169.254.1.1")) { LinkLayerAddress = PhysicalAddress.Parse("02-11-22-33-44-55") };
        ns.Client.AddNeighbor(entry);
        ns.Client.ReplaceNeighbor(entry with { LinkLayerAddress = PhysicalAddress.Parse("02-11-22-33-44-66") });
        var listed = ns.Client.GetNeighbors(linkIndex: index).Should().ContainSingle().Subject;
        listed.State.Should().Be(NeighborState.Permanent);
        listed.LinkLayerAddress.Should().Be(PhysicalAddress.Parse("02-11-22-33-44-66"));
        ns.Exec("ip", "neigh", "show", "dev", "d0").Should().Contain("169.254.1.1 lladdr 02:11:22:33:44:66 PERMANENT");
        ns.Client.DeleteNeighbor(entry);
        ns.Client.GetNeighbors(linkIndex: index).Should().BeEmpty();
    }
}
