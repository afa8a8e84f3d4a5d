using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>
/// Writes one netlink request into a caller-owned contiguous buffer: header placeholder, family header,
/// then TLV attributes. Lengths are filled in when a nest or the message completes, so nothing is
/// allocated per attribute.
/// </summary>
internal ref struct NetlinkWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public NetlinkWriter(Span<byte> buffer, ushort type, ushort flags)
    {
        _buffer = buffer;
        _position = Nl.HeaderLength;
        var header = new NetlinkMessageHeader { Type = type, Flags = flags };
        MemoryMarshal.Write(buffer, in header);
    }

    public readonly int Length => _position;

    public void WriteHeader<T>(in T value) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        var span = Reserve(Nl.Align(size));
        span.Clear();
        MemoryMarshal.Write(span, in value);
    }

    public void WriteAttribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        var total = 4 + value.Length;
        var span = Reserve(Nl.Align(total));
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)total);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        value.CopyTo(span[4..]);
        span[total..].Clear();
    }

    public void WriteUInt8(ushort type, byte value) => WriteAttribute(type, [value]);

    public void WriteUInt16(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        MemoryMarshal.Write(bytes, in value);
        WriteAttribute(type, bytes);
    }

    public void WriteUInt32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in value);
        WriteAttribute(type, bytes);
    }

    public void WriteInt32(ushort type, int value) => WriteUInt32(type, unchecked((uint)value));

    /// <summary>A NUL-terminated string attribute (IFLA_IFNAME, FRA_IIFNAME, …).</summary>
    public void WriteString(ushort type, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var total = 4 + length + 1;
        var span = Reserve(Nl.Align(total));
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)total);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        Encoding.UTF8.GetBytes(value, span[4..]);
        span[(4 + length)..].Clear();
    }

    public void WriteAddress(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException("Address could not be encoded.", nameof(address));
        }

        WriteAttribute(type, bytes[..written]);
    }

    /// <summary>Starts a nested attribute; pass the returned offset to <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        var start = _position;
        var span = Reserve(4);
        BinaryPrimitives.WriteUInt16LittleEndian(span, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        return start;
    }

    public readonly void EndNested(int start) =>
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[start..], (ushort)(_position - start));

    /// <summary>Fills in nlmsg_len and returns the finished message.</summary>
    public readonly Span<byte> Complete()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_position);
        return _buffer[.._position];
    }

    private Span<byte> Reserve(int length)
    {
        if (_position + length > _buffer.Length)
        {
            throw new InvalidOperationException($"Netlink request exceeds the {_buffer.Length}-byte request buffer.");
        }

        var span = _buffer.Slice(_position, length);
        _position += length;
        return span;
    }

    public static byte FamilyOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? Af.Inet6 : Af.Inet;
}
