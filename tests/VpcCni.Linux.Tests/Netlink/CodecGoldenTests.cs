using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Tests.Netlink;

/// <summary>
/// Requests compared byte for byte with layouts derived from the kernel UAPI structs
/// (nlmsghdr 16 B, ifinfomsg 16 B, ifaddrmsg 8 B, rtmsg 12 B, fib_rule_hdr 12 B, ndmsg 12 B; NLA 4-byte aligned).
/// </summary>
public sealed class CodecGoldenTests
{
    private const ushort CreateExclusive = 0x0605; // NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
    private const ushort CreateReplace = 0x0505;   // NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE

    private delegate void Build(ref NetlinkWriter writer);

    private static byte[] Encode(ushort type, ushort flags, Build build)
    {
        var buffer = new byte[1024];
        var writer = new NetlinkWriter(buffer, type, flags);
        build(ref writer);
        return writer.Complete().ToArray();
    }

    [Fact]
    public void WriteRule_ToPodLookupMainPrio512_MatchesUapiLayout()
    {
        var rule = new RoutingRule(AddressFamily.InterNetwork) { Priority = 512, Destination = IPNetwork.Parse("10.0.2.20/32"), Table = RouteTable.Main };
        var bytes = Encode(Rtm.NewRule, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteRule(ref w, rule));
        bytes.Should().Equal(
            0x34, 0, 0, 0, 0x20, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: len 52, RTM_NEWRULE
            2, 32, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0,                        // fib_rule_hdr: AF_INET, dst_len 32, table main, FR_ACT_TO_TBL
            8, 0, 6, 0, 0, 2, 0, 0,                                       // FRA_PRIORITY 512
            8, 0, 15, 0, 254, 0, 0, 0,                                    // FRA_TABLE 254
            8, 0, 1, 0, 10, 0, 2, 20);                                    // FRA_DST 10.0.2.20
    }

    [Fact]
    public void WriteRule_FwmarkAndIif_MatchesUapiLayout()
    {
        var rule = new RoutingRule(AddressFamily.InterNetwork) { Priority = 1024, FirewallMark = 0x80, FirewallMask = 0x80, InputInterface = "eni1", Table = 10001 };
        var bytes = Encode(Rtm.NewRule, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteRule(ref w, rule));
        bytes.Should().Equal(
            0x48, 0, 0, 0, 0x20, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,                            // table > 255 → header table RT_TABLE_UNSPEC
            8, 0, 6, 0, 0, 4, 0, 0,                                        // FRA_PRIORITY 1024
            8, 0, 15, 0, 0x11, 0x27, 0, 0,                                 // FRA_TABLE 10001
            8, 0, 10, 0, 0x80, 0, 0, 0,                                    // FRA_FWMARK
            8, 0, 16, 0, 0x80, 0, 0, 0,                                    // FRA_FWMASK
            9, 0, 3, 0, (byte)'e', (byte)'n', (byte)'i', (byte)'1', 0, 0, 0, 0); // FRA_IIFNAME "eni1\0" padded
    }

    [Fact]
    public void WriteRoute_LinkScopeInTableAbove255_UsesRtaTable()
    {
        var route = new Route(IPNetwork.Parse("10.0.2.1/32")) { OutputLinkIndex = 5, Scope = RouteScope.Link, Table = 10001 };
        var bytes = Encode(Rtm.NewRoute, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteRoute(ref w, route, forDelete: false));
        bytes.Should().Equal(
            0x34, 0, 0, 0, 0x18, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,   // RTM_NEWROUTE
            2, 32, 0, 0, 0, 3, 253, 1, 0, 0, 0, 0,                         // rtmsg: table UNSPEC, RTPROT_BOOT, RT_SCOPE_LINK, RTN_UNICAST
            8, 0, 1, 0, 10, 0, 2, 1,                                       // RTA_DST
            8, 0, 15, 0, 0x11, 0x27, 0, 0,                                 // RTA_TABLE 10001
            8, 0, 4, 0, 5, 0, 0, 0);                                       // RTA_OIF 5
    }

    [Fact]
    public void WriteRoute_DefaultViaGatewayForDelete_WildcardsScopeAndProtocol()
    {
        var route = new Route(IPNetwork.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("169.254.1.1"), Table = RouteTable.Main };
        var bytes = Encode(Rtm.DelRoute, 0x05, (ref NetlinkWriter w) => RtCodecs.WriteRoute(ref w, route, forDelete: true));
        bytes.Should().Equal(
            0x24, 0, 0, 0, 0x19, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0,      // RTM_DELROUTE, REQUEST|ACK
            2, 0, 0, 0, 254, 0, 255, 0, 0, 0, 0, 0,                        // no RTA_DST for /0; scope NOWHERE = any
            8, 0, 5, 0, 169, 254, 1, 1);                                   // RTA_GATEWAY
    }

    [Fact]
    public void WriteLinkCreate_Veth_NestsPeerIfInfoMsg()
    {
        var request = new VethCreateRequest("a", "b") { Mtu = 1500 };
        var bytes = Encode(Rtm.NewLink, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteLinkCreate(ref w, request));
        var expected = new List<byte>();
        expected.AddRange([104, 0, 0, 0, 16, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]);
        expected.AddRange(new byte[16]);                                      // ifinfomsg
        expected.AddRange([6, 0, 3, 0, (byte)'a', 0, 0, 0]);                   // IFLA_IFNAME
        expected.AddRange([8, 0, 4, 0, 0xdc, 0x05, 0, 0]);                     // IFLA_MTU 1500
        expected.AddRange([56, 0, 18, 0]);                                     // IFLA_LINKINFO
        expected.AddRange([9, 0, 1, 0, (byte)'v', (byte)'e', (byte)'t', (byte)'h', 0, 0, 0, 0]); // IFLA_INFO_KIND
        expected.AddRange([40, 0, 2, 0]);                                      // IFLA_INFO_DATA
        expected.AddRange([36, 0, 1, 0]);                                      // VETH_INFO_PEER
        expected.AddRange(new byte[16]);                                       // peer ifinfomsg
        expected.AddRange([6, 0, 3, 0, (byte)'b', 0, 0, 0]);
        expected.AddRange([8, 0, 4, 0, 0xdc, 0x05, 0, 0]);
        bytes.Should().Equal(expected);
    }

    [Fact]
    public void WriteLinkCreate_Vlan_CarriesIdAndParent()
    {
        var request = new VlanCreateRequest("v", 4, 7);
        var bytes = Encode(Rtm.NewLink, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteLinkCreate(ref w, request));
        bytes.Skip(32).Should().Equal(
            6, 0, 3, 0, (byte)'v', 0, 0, 0,
            28, 0, 18, 0,
            9, 0, 1, 0, (byte)'v', (byte)'l', (byte)'a', (byte)'n', 0, 0, 0, 0,
            12, 0, 2, 0, 6, 0, 1, 0, 7, 0, 0, 0,                           // IFLA_INFO_DATA { IFLA_VLAN_ID u16 7 }
            8, 0, 5, 0, 4, 0, 0, 0);                                       // IFLA_LINK 4
    }

    [Fact]
    public void WriteNeighbor_Permanent_MatchesUapiLayout()
    {
        var neighbor = new Neighbor(7, IPAddress.Parse("169.254.1.1")) { LinkLayerAddress = PhysicalAddress.Parse("02-11-22-33-44-55") };
        var bytes = Encode(Rtm.NewNeigh, CreateReplace, (ref NetlinkWriter w) => RtCodecs.WriteNeighbor(ref w, neighbor));
        bytes.Should().Equal(
            0x30, 0, 0, 0, 0x1c, 0, 0x05, 0x05, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 7, 0, 0, 0, 0x80, 0, 0, 0,                         // ndmsg: ifindex 7, NUD_PERMANENT
            8, 0, 1, 0, 169, 254, 1, 1,                                    // NDA_DST
            10, 0, 2, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0);        // NDA_LLADDR
    }

    [Fact]
    public void WriteAddress_V4WithPrefix_MatchesUapiLayout()
    {
        var address = new InterfaceAddress(3, IPAddress.Parse("10.0.2.10"), 24);
        var bytes = Encode(Rtm.NewAddr, CreateExclusive, (ref NetlinkWriter w) => RtCodecs.WriteAddress(ref w, address));
        bytes.Should().Equal(
            0x28, 0, 0, 0, 0x14, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 24, 0, 0, 3, 0, 0, 0,
            8, 0, 2, 0, 10, 0, 2, 10,                                      // IFA_LOCAL
            8, 0, 1, 0, 10, 0, 2, 10);                                     // IFA_ADDRESS
    }

    [Fact]
    public void ParseLink_KernelShapedReply_ReadsNameMtuMacKind()
    {
        byte[] message =
        [
            80, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 1, 0, 9, 0, 0, 0, 0x43, 0x10, 1, 0, 0, 0, 0, 0,          // ifinfomsg: ARPHRD_ETHER, index 9, UP|RUNNING|MULTICAST|LOWER_UP
            9, 0, 3, 0, (byte)'e', (byte)'t', (byte)'h', (byte)'1', 0, 0, 0, 0,
            8, 0, 4, 0, 0x29, 0x23, 0, 0,                                   // mtu 9001
            10, 0, 1, 0, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0,
            16, 0, 18, 0, 9, 0, 1, 0, (byte)'v', (byte)'e', (byte)'t', (byte)'h', 0, 0, 0, 0,
        ];
        var reader = new NetlinkMessageReader(message);
        reader.TryRead(out var parsed).Should().BeTrue();
        var link = RtCodecs.ParseLink(parsed)!;
        link.Should().BeEquivalentTo(new NetworkLink(9, "eth1", "veth", 9001, PhysicalAddress.Parse("02-AA-BB-CC-DD-EE"), (LinkFlags)0x11043, null, null, null));
        link.IsUp.Should().BeTrue();
        reader.TryRead(out _).Should().BeFalse();
        reader.IsMalformed.Should().BeFalse();
    }

    [Fact]
    public void ProcessDatagram_ErrorWithExtendedAck_ThrowsTypedException()
    {
        byte[] datagram =
        [
            48, 0, 0, 0, 2, 0, 0x00, 0x03, 7, 0, 0, 0, 0, 0, 0, 0,        // NLMSG_ERROR, flags CAPPED|ACK_TLVS, seq 7
            0xef, 0xff, 0xff, 0xff,                                       // error -17
            52, 0, 0, 0, 0x20, 0, 0x05, 0x06, 7, 0, 0, 0, 0, 0, 0, 0,     // echoed request header
            12, 0, 1, 0, (byte)'E', (byte)'x', (byte)'i', (byte)'s', (byte)'t', (byte)'s', 0, 0, // NLMSGERR_ATTR_MSG
        ];
        var progress = new NetlinkSocket.ReplyProgress();
        var state = 0;
        var act = () => NetlinkSocket.ProcessDatagram<int>(datagram, 7, "RTM_NEWRULE test", ref progress, ref state, null);
        var error = act.Should().Throw<VpcCni.Linux.Netlink.NetlinkException>().Which;
        error.Errno.Should().Be(17);
        error.IsAlreadyExists.Should().BeTrue();
        error.ExtendedAckMessage.Should().Be("Exists");
        error.Message.Should().Contain("RTM_NEWRULE test").And.Contain("EEXIST").And.Contain("Exists");
    }

    [Fact]
    public void ProcessDatagram_DumpInterruptedThenDone_FlagsInterruptedAndSkipsForeignSequence()
    {
        byte[] datagram =
        [
            20, 0, 0, 0, 16, 0, 0x12, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,   // data, MULTI|DUMP_INTR, seq 9
            20, 0, 0, 0, 16, 0, 0x02, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,   // foreign seq 8: skipped
            20, 0, 0, 0, 3, 0, 0x02, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    // NLMSG_DONE 0
        ];
        var progress = new NetlinkSocket.ReplyProgress();
        var count = 0;
        NetlinkSocket.ProcessDatagram(datagram, 9, "dump", ref progress, ref count, static (ref int c, in NetlinkMessage _) => c++);
        count.Should().Be(1);
        progress.Completed.Should().BeTrue();
        progress.Interrupted.Should().BeTrue();
    }

    [Fact]
    public void ProcessDatagram_DoneWithNegativeStatus_Throws()
    {
        byte[] datagram = [20, 0, 0, 0, 3, 0, 0x02, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0xea, 0xff, 0xff, 0xff];
        var progress = new NetlinkSocket.ReplyProgress();
        var state = 0;
        var act = () => NetlinkSocket.ProcessDatagram<int>(datagram, 9, "dump", ref progress, ref state, null);
        act.Should().Throw<VpcCni.Linux.Netlink.NetlinkException>().Which.Errno.Should().Be(22);
    }
}
