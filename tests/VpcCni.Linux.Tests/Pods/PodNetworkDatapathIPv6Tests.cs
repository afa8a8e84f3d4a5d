using System.Net;
using System.Net.Sockets;
using System.Text;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Pods;

/// <summary>
/// An IPv6 cluster's pod (issue #16) with real packets: wired with its /128, the fe80::1 gateway and the static neighbour
/// entry, it reaches an address of the node over IPv6 and the reply finds its way back through the /128 host route.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class PodNetworkDatapathIPv6Tests
{
    private static readonly IPAddress PodAddress = IPAddress.Parse("2001:db8:1::20");
    private static readonly IPAddress NodeAddress = IPAddress.Parse("2001:db8:ff::1");

    [Fact]
    public void Setup_IPv6Pod_ExchangesDatagramsWithTheNodeOverIPv6()
    {
        Privileged.Require();
        using var node = new TestNamespace("p6n");
        using var pod = new TestNamespace("p6p");
        node.Exec("ip", "link", "set", "lo", "up");
        node.Exec("ip", "-6", "addr", "add", $"{NodeAddress}/128", "dev", "lo");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = new PodNetworkRequest(pod.Path, "default", "web-" + pod.Name, "eth0", PodAddress, RouteTable.Main) { Mtu = 9001 };
        var wired = datapath.Setup(request);

        pod.Exec("ip", "-6", "neigh", "show", "dev", "eth0").Should().Contain("fe80::1 lladdr").And.Contain("PERMANENT");
        var (source, echoed) = Exchange(pod, node, NodeAddress, 7106);

        source.Should().Be(PodAddress, "the pod's /128 is its source: no SNAT in IPv6 mode");
        echoed.Should().Be(PodAddress.ToString(), "the reply reaches the pod through the host's /128 route on {0}", wired.HostVethName);
        datapath.Teardown(request);
        node.Exec("ip", "-6", "route", "show").Should().NotContain(PodAddress.ToString());
    }

    private static Socket UdpSocketIn(TestNamespace ns, IPEndPoint bind) =>
        NetworkNamespaceExecutor.Shared.Invoke(ns.Handle, static b =>
        {
            // A socket belongs to the namespace of the thread that created it.
            var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
            socket.Bind(b);
            return socket;
        }, bind);

    /// <summary>Pod → server in <paramref name="to"/>; the server echoes the source it saw; returns (source, what came back).</summary>
    private static (IPAddress Source, string Echoed) Exchange(TestNamespace from, TestNamespace to, IPAddress serverAddress, int port)
    {
        using var server = UdpSocketIn(to, new IPEndPoint(serverAddress, port));
        using var client = UdpSocketIn(from, new IPEndPoint(IPAddress.IPv6Any, 0));
        client.SendTo("ping"u8, new IPEndPoint(serverAddress, port));
        var buffer = new byte[512];
        EndPoint remote = new IPEndPoint(IPAddress.IPv6Any, 0);
        server.ReceiveFrom(buffer, ref remote);
        var source = ((IPEndPoint)remote).Address;
        server.SendTo(Encoding.ASCII.GetBytes(source.ToString()), remote);
        EndPoint back = new IPEndPoint(IPAddress.IPv6Any, 0);
        var length = client.ReceiveFrom(buffer, ref back);
        return (source, Encoding.ASCII.GetString(buffer, 0, length));
    }
}
