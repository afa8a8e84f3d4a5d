using System.Runtime.InteropServices;

namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>struct nlmsghdr (host byte order).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NetlinkMessageHeader
{
    public uint Length;
    public ushort Type;
    public ushort Flags;
    public uint Sequence;
    public uint PortId;
}

/// <summary>struct rtgenmsg, padded to netlink's 4-byte alignment.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtGenMsg
{
    public byte Family;
    public byte Pad1;
    public ushort Pad2;
}

/// <summary>struct ifinfomsg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfInfoMsg
{
    public byte Family;
    public byte Pad;
    public ushort Type;
    public int Index;
    public uint Flags;
    public uint Change;
}

/// <summary>struct ifaddrmsg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfAddrMsg
{
    public byte Family;
    public byte PrefixLength;
    public byte Flags;
    public byte Scope;
    public int Index;
}

/// <summary>struct rtmsg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtMsg
{
    public byte Family;
    public byte DestinationLength;
    public byte SourceLength;
    public byte Tos;
    public byte Table;
    public byte Protocol;
    public byte Scope;
    public byte Type;
    public uint Flags;
}

/// <summary>struct fib_rule_hdr.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FibRuleHeader
{
    public byte Family;
    public byte DestinationLength;
    public byte SourceLength;
    public byte Tos;
    public byte Table;
    public byte Reserved1;
    public byte Reserved2;
    public byte Action;
    public uint Flags;
}

/// <summary>struct ndmsg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NdMsg
{
    public byte Family;
    public byte Pad1;
    public ushort Pad2;
    public int Index;
    public ushort State;
    public byte Flags;
    public byte Type;
}
