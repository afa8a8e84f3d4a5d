using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>One netlink message inside a received datagram.</summary>
internal readonly ref struct NetlinkMessage
{
    public NetlinkMessage(NetlinkMessageHeader header, ReadOnlySpan<byte> payload)
    {
        Header = header;
        Payload = payload;
    }

    public NetlinkMessageHeader Header { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>Reads the family header at the start of the payload; false when the payload is too short.</summary>
    public bool TryReadHeader<T>(out T value) where T : unmanaged
    {
        if (Payload.Length < Unsafe.SizeOf<T>())
        {
            value = default;
            return false;
        }

        value = MemoryMarshal.Read<T>(Payload);
        return true;
    }

    /// <summary>Attributes that follow a family header of <typeparamref name="T"/>.</summary>
    public NetlinkAttributeReader AttributesAfter<T>() where T : unmanaged
    {
        var offset = Nl.Align(Unsafe.SizeOf<T>());
        return new NetlinkAttributeReader(offset <= Payload.Length ? Payload[offset..] : []);
    }
}

/// <summary>
/// Walks the messages of one datagram. Never throws: a truncated header or a length that does not fit
/// stops the walk and sets <see cref="IsMalformed"/>.
/// </summary>
internal ref struct NetlinkMessageReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkMessageReader(ReadOnlySpan<byte> datagram) => _remaining = datagram;

    public bool IsMalformed { get; private set; }

    public bool TryRead(out NetlinkMessage message)
    {
        message = default;
        if (_remaining.IsEmpty)
        {
            return false;
        }

        if (_remaining.Length < Nl.HeaderLength)
        {
            IsMalformed = true;
            _remaining = [];
            return false;
        }

        var header = MemoryMarshal.Read<NetlinkMessageHeader>(_remaining);
        if (header.Length < Nl.HeaderLength || header.Length > (uint)_remaining.Length)
        {
            IsMalformed = true;
            _remaining = [];
            return false;
        }

        var length = (int)header.Length;
        message = new NetlinkMessage(header, _remaining[Nl.HeaderLength..length]);
        var aligned = Nl.Align(length);
        _remaining = aligned >= _remaining.Length ? [] : _remaining[aligned..];
        return true;
    }
}

/// <summary>One TLV attribute.</summary>
internal readonly ref struct NetlinkAttribute
{
    public NetlinkAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        Type = type;
        Value = value;
    }

    /// <summary>The attribute type without the NESTED / NET_BYTEORDER flag bits.</summary>
    public ushort Type { get; }

    public ReadOnlySpan<byte> Value { get; }

    public NetlinkAttributeReader Nested => new(Value);

    public bool TryGetUInt8(out byte value)
    {
        value = Value.Length >= 1 ? Value[0] : (byte)0;
        return Value.Length >= 1;
    }

    public bool TryGetUInt16(out ushort value)
    {
        value = Value.Length >= 2 ? MemoryMarshal.Read<ushort>(Value) : (ushort)0;
        return Value.Length >= 2;
    }

    public bool TryGetUInt32(out uint value)
    {
        value = Value.Length >= 4 ? MemoryMarshal.Read<uint>(Value) : 0;
        return Value.Length >= 4;
    }

    public bool TryGetInt32(out int value)
    {
        var ok = TryGetUInt32(out var raw);
        value = unchecked((int)raw);
        return ok;
    }

    /// <summary>A NUL-terminated (or unterminated) string; allocates, so only at the model boundary.</summary>
    public string GetString()
    {
        var end = Value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? Value[..end] : Value);
    }

    public bool StringEquals(string expected)
    {
        var end = Value.IndexOf((byte)0);
        var bytes = end >= 0 ? Value[..end] : Value;
        Span<byte> buffer = stackalloc byte[64];
        if (Encoding.UTF8.GetMaxByteCount(expected.Length) > buffer.Length)
        {
            return GetString() == expected;
        }

        var written = Encoding.UTF8.GetBytes(expected, buffer);
        return bytes.SequenceEqual(buffer[..written]);
    }

    public IPAddress? GetAddress() => Value.Length is 4 or 16 ? new IPAddress(Value) : null;
}

/// <summary>Walks TLV attributes; stops (and sets <see cref="IsMalformed"/>) on a bad length instead of throwing.</summary>
internal ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes) => _remaining = attributes;

    public bool IsMalformed { get; private set; }

    public bool TryRead(out NetlinkAttribute attribute)
    {
        attribute = default;
        if (_remaining.Length < 4)
        {
            IsMalformed |= !_remaining.IsEmpty;
            _remaining = [];
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(_remaining);
        var type = BinaryPrimitives.ReadUInt16LittleEndian(_remaining[2..]);
        if (length < 4 || length > _remaining.Length)
        {
            IsMalformed = true;
            _remaining = [];
            return false;
        }

        attribute = new NetlinkAttribute((ushort)(type & Nl.AttrTypeMask), _remaining[4..length]);
        var aligned = Nl.Align(length);
        _remaining = aligned >= _remaining.Length ? [] : _remaining[aligned..];
        return true;
    }
}
