namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>Values from the kernel UAPI headers (linux/netlink.h, rtnetlink.h, if_link.h, fib_rules.h, neighbour.h).</summary>
internal static class Nl
{
    public const int HeaderLength = 16;
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;

    public const ushort FlagRequest = 0x1;
    public const ushort FlagMulti = 0x2;
    public const ushort FlagAck = 0x4;
    public const ushort FlagDumpInterrupted = 0x10;
    public const ushort FlagDump = 0x300;
    public const ushort FlagReplace = 0x100;
    public const ushort FlagExclusive = 0x200;
    public const ushort FlagCreate = 0x400;
    public const ushort FlagAppend = 0x800;
    // Flags on NLMSG_ERROR acks.
    public const ushort FlagCapped = 0x100;
    public const ushort FlagAckTlvs = 0x200;

    public const ushort ErrAttrMessage = 1;
    public const ushort ErrAttrOffset = 2;

    public const ushort AttrFlagNested = 0x8000;
    public const ushort AttrFlagNetByteOrder = 0x4000;
    public const ushort AttrTypeMask = 0x3FFF;

    public static int Align(int length) => (length + 3) & ~3;
}

internal static class Rtm
{
    public const ushort NewLink = 16, DelLink = 17, GetLink = 18, SetLink = 19;
    public const ushort NewAddr = 20, DelAddr = 21, GetAddr = 22;
    public const ushort NewRoute = 24, DelRoute = 25, GetRoute = 26;
    public const ushort NewNeigh = 28, DelNeigh = 29, GetNeigh = 30;
    public const ushort NewRule = 32, DelRule = 33, GetRule = 34;
    public const ushort NewNsId = 88, GetNsId = 90;
}

internal static class Netnsa
{
    public const ushort NsId = 1, Fd = 3;

    /// <summary>NETNSA_NSID_NOT_ASSIGNED.</summary>
    public const int NotAssigned = -1;
}

internal static class Ifla
{
    public const ushort Address = 1, Broadcast = 2, IfName = 3, Mtu = 4, Link = 5, Master = 10, OperState = 16,
        LinkInfo = 18, NetNsPid = 19, IfAlias = 20, NetNsFd = 28, LinkNetNsId = 37;
    public const ushort InfoKind = 1, InfoData = 2;
    public const ushort VethInfoPeer = 1;
    public const ushort VlanId = 1;
}

internal static class Ifa
{
    public const ushort Address = 1, Local = 2, Label = 3, Broadcast = 4, CacheInfo = 6, Flags = 8;
    public const uint FlagNoDad = 0x02, FlagTentative = 0x40, FlagDadFailed = 0x08, FlagPermanent = 0x80, FlagNoPrefixRoute = 0x200;
}

internal static class Rta
{
    public const ushort Dst = 1, Src = 2, Iif = 3, Oif = 4, Gateway = 5, Priority = 6, PrefSrc = 7, Table = 15;
}

internal static class Fra
{
    public const ushort Dst = 1, Src = 2, IifName = 3, Goto = 4, Priority = 6, FwMark = 10, Table = 15, FwMask = 16, OifName = 17, Protocol = 21;
    public const byte ActionToTable = 1;
    public const uint FlagInvert = 0x2;
}

internal static class Nda
{
    public const ushort Dst = 1, LinkLayerAddress = 2;
}

internal static class Af
{
    public const byte Unspecified = 0, Inet = 2, Inet6 = 10;
}
