using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using VpcCni.Linux.Host;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;
using VpcCni.Linux.Sysctl;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.EndToEnd;

/// <summary>
/// A node namespace with a primary and a secondary "ENI" (veth pairs into a "VPC" namespace), two pods,
/// SNAT/connmark, and real UDP packets whose source address is reported by the receiver.
/// Everything lives in namespaces created here; none has a route to the real network.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class NodeDatapathTests
{
    private static readonly PhysicalAddress PrimaryMac = PhysicalAddress.Parse("02-00-00-00-0a-00");
    private static readonly PhysicalAddress SecondaryMac = PhysicalAddress.Parse("02-00-00-00-0a-01");
    private static readonly IPAddress NodeIp = IPAddress.Parse("10.0.1.10");
    private static readonly IPAddress VpcPeer = IPAddress.Parse("10.0.9.9");
    private static readonly IPAddress InternetHost = IPAddress.Parse("198.51.100.10");
    private static readonly IPAddress ExcludedHost = IPAddress.Parse("203.0.113.10");

    [Theory]
    [InlineData(ConnmarkBackend.Iptables)]
    [InlineData(ConnmarkBackend.Nftables)]
    public async Task TwoPods_RealPackets_FollowUpstreamPathsAndTeardownRestoresNode(ConnmarkBackend backend)
    {
        Privileged.Require();
        var ct = TestContext.Current.CancellationToken;
        using var vpc = new TestNamespace("vpc");
        using var node = new TestNamespace("node");
        using var podA = new TestNamespace("pa");
        using var podB = new TestNamespace("pb");

        // The "VPC": two ENIs attached to the node, and hosts (addresses on lo) for the VPC peer, the internet and an excluded CIDR.
        vpc.Client.CreateLink(new VethCreateRequest("n0", "eth0") { PeerNamespace = node.Handle, PeerHardwareAddress = PrimaryMac });
        vpc.Client.CreateLink(new VethCreateRequest("n1", "eth1") { PeerNamespace = node.Handle, PeerHardwareAddress = SecondaryMac });
        var n0 = vpc.Client.FindLinkByName("n0")!;
        var n1 = vpc.Client.FindLinkByName("n1")!;
        vpc.Client.AddAddress(new InterfaceAddress(n0.Index, IPAddress.Parse("10.0.1.1"), 24));
        vpc.Client.AddAddress(new InterfaceAddress(n1.Index, IPAddress.Parse("10.0.2.1"), 24));
        vpc.Client.SetLinkUp(n0.Index);
        vpc.Client.SetLinkUp(n1.Index);
        var lo = vpc.Client.FindLinkByName("lo")!.Index;
        foreach (var host in new[] { VpcPeer, InternetHost, ExcludedHost })
        {
            vpc.Client.AddAddress(new InterfaceAddress(lo, host, 32));
        }

        // What EC2's DHCP gives the primary ENI.
        var eth0 = node.Client.FindLinkByName("eth0")!;
        node.Client.AddAddress(new InterfaceAddress(eth0.Index, NodeIp, 24));
        node.Client.SetLinkUp(eth0.Index);
        node.Client.AddRoute(new Route(IPNetwork.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("10.0.1.1"), OutputLinkIndex = eth0.Index });
        new NamespaceSysctl().Write(node.Handle, "net/ipv4/ip_forward", "1");

        // The daemon's host setup.
        using (var host = new HostNetworkDatapath(node.Handle))
        {
            await host.SetupPrimaryEniAsync(new PrimaryEniConfiguration(PrimaryMac) { Mtu = 9001 }, ct);
            await host.SetupSecondaryEniAsync(new SecondaryEniConfiguration(SecondaryMac, IPAddress.Parse("10.0.2.10"), IPNetwork.Parse("10.0.2.0/24"), 2) { Mtu = 9001 }, ct);
        }

        new SnatReconciler(node.Handle, backend).Reconcile(new SnatConfiguration("eth0", NodeIp, [IPNetwork.Parse("10.0.0.0/16")])
        {
            ExcludedCidrs = [IPNetwork.Parse("203.0.113.0/24")],
        });
        var nodeBefore = StateSnapshot.Capture(node.Client, node);

        // The plugin's pod wiring: A on the primary ENI (main), B on the secondary ENI (table 2).
        using var pods = new PodNetworkDatapath(node.Handle);
        var requestA = new PodNetworkRequest(podA.Path, "default", "pod-a", "eth0", IPAddress.Parse("10.0.1.20"), RouteTable.Main);
        var requestB = new PodNetworkRequest(podB.Path, "default", "pod-b", "eth0", IPAddress.Parse("10.0.2.20"), 2);
        pods.Setup(requestA);
        pods.Setup(requestB);
        pods.Check(requestA).Should().BeEmpty();
        pods.Check(requestB).Should().BeEmpty();

        // The VPC fabric knows which ENI owns each secondary address (EC2 never ARPs the instance for them).
        vpc.Client.AddNeighbor(new Neighbor(n0.Index, requestA.Address) { LinkLayerAddress = PrimaryMac });
        vpc.Client.AddNeighbor(new Neighbor(n1.Index, requestB.Address) { LinkLayerAddress = SecondaryMac });

        // pod ↔ pod on the node keeps addresses.
        Exchange(podA, podB, IPAddress.Parse("10.0.2.20"), 7001).Source.Should().Be(IPAddress.Parse("10.0.1.20"));
        Exchange(podB, podA, IPAddress.Parse("10.0.1.20"), 7002).Source.Should().Be(IPAddress.Parse("10.0.2.20"));

        // pod → VPC peer: no SNAT; B leaves through the secondary ENI (its table), A through the primary.
        var bToPeer = Exchange(podB, vpc, VpcPeer, 7003);
        bToPeer.Source.Should().Be(IPAddress.Parse("10.0.2.20"));
        bToPeer.InterfaceIndex.Should().Be(n1.Index, "pod B's traffic follows table 2 out of the secondary ENI");
        var aToPeer = Exchange(podA, vpc, VpcPeer, 7004);
        aToPeer.Source.Should().Be(IPAddress.Parse("10.0.1.20"));
        aToPeer.InterfaceIndex.Should().Be(n0.Index);

        // pod → internet: connmark sends it through main/eth0 and SNAT gives it the node's primary address.
        var bToInternet = Exchange(podB, vpc, InternetHost, 7005);
        bToInternet.Source.Should().Be(NodeIp);
        bToInternet.InterfaceIndex.Should().Be(n0.Index, "connmark + fwmark rule 1024 route it out of the primary ENI");
        Exchange(podA, vpc, InternetHost, 7006).Source.Should().Be(NodeIp);

        // pod → excluded CIDR: keeps the pod address (and B keeps its ENI).
        var bToExcluded = Exchange(podB, vpc, ExcludedHost, 7007);
        bToExcluded.Source.Should().Be(IPAddress.Parse("10.0.2.20"));
        bToExcluded.InterfaceIndex.Should().Be(n1.Index);
        Exchange(podA, vpc, ExcludedHost, 7008).Source.Should().Be(IPAddress.Parse("10.0.1.20"));

        pods.Teardown(requestA);
        pods.Teardown(requestB);
        StateSnapshot.Capture(node.Client, node).Should().Equal(nodeBefore, "teardown leaves links, routes, rules, neighbours and chains as before");
    }

    private sealed record Received(IPAddress Source, int InterfaceIndex);

    private static Socket UdpSocketIn(TestNamespace ns, IPEndPoint bind) =>
        NetworkNamespaceExecutor.Shared.Invoke(ns.Handle, static b =>
        {
            // A socket belongs to the namespace of the thread that created it.
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            socket.Bind(b);
            return socket;
        }, bind);

    /// <summary>Sends a datagram from <paramref name="from"/> to a server in <paramref name="to"/>; the server reports the source and echoes it back.</summary>
    private static Received Exchange(TestNamespace from, TestNamespace to, IPAddress serverAddress, int port)
    {
        using var server = UdpSocketIn(to, new IPEndPoint(serverAddress, port));
        using var client = UdpSocketIn(from, new IPEndPoint(IPAddress.Any, 0));
        client.SendTo("ping"u8, new IPEndPoint(serverAddress, port));
        var buffer = new byte[512];
        EndPoint remote = new IPEndPoint(IPAddress.Any, 0);
        var flags = SocketFlags.None;
        server.ReceiveMessageFrom(buffer, ref flags, ref remote, out var info);
        var source = ((IPEndPoint)remote).Address;
        server.SendTo(Encoding.ASCII.GetBytes(source.ToString()), remote);
        EndPoint back = new IPEndPoint(IPAddress.Any, 0);
        var length = client.ReceiveFrom(buffer, ref back);
        Encoding.ASCII.GetString(buffer, 0, length).Should().Be(source.ToString(), "the reply must find its way back (de-SNAT and host routes)");
        return new Received(source, info.Interface);
    }
}
