using System.Text;

namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>
/// Writes protobuf's wire format (proto3): tags, varints, length-delimited strings, bytes and sub-messages. The typed
/// field writers leave out values equal to the field's default, as proto3 serializers do; repeated elements and set
/// sub-messages are always written.
/// </summary>
internal sealed class ProtoWriter
{
    private byte[] _buffer = new byte[128];
    private int _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void WriteTag(int field, ProtoWireType wireType)
    {
        if (field is < 1 or > 536_870_911)
        {
            throw new ArgumentOutOfRangeException(nameof(field), field, "a protobuf field number is 1 to 2^29-1");
        }

        WriteVarint(((uint)field << 3) | (uint)wireType);
    }

    public void WriteVarint(ulong value)
    {
        Reserve(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[_length++] = (byte)value;
    }

    /// <summary>int32 and enums: a negative value is sign-extended to 64 bits (ten octets), as protobuf specifies.</summary>
    public void WriteInt32(int field, int value)
    {
        if (value != 0)
        {
            WriteTag(field, ProtoWireType.Varint);
            WriteVarint((ulong)(long)value);
        }
    }

    public void WriteUInt64(int field, ulong value)
    {
        if (value != 0)
        {
            WriteTag(field, ProtoWireType.Varint);
            WriteVarint(value);
        }
    }

    public void WriteBool(int field, bool value)
    {
        if (value)
        {
            WriteTag(field, ProtoWireType.Varint);
            WriteVarint(1);
        }
    }

    public void WriteString(int field, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            WriteStringValue(field, value);
        }
    }

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty)
        {
            WriteTag(field, ProtoWireType.LengthDelimited);
            WriteVarint((uint)value.Length);
            Reserve(value.Length);
            value.CopyTo(_buffer.AsSpan(_length));
            _length += value.Length;
        }
    }

    /// <summary>Every element, empty strings too (repeated strings cannot be packed).</summary>
    public void WriteRepeatedString(int field, IReadOnlyList<string> values)
    {
        foreach (var value in values)
        {
            WriteStringValue(field, value ?? "");
        }
    }

    /// <summary>A set sub-message is written even when all its fields are defaults (presence is its meaning); null is left out.</summary>
    public void WriteMessage<T>(int field, T? message)
        where T : class, IWireMessage<T>
    {
        if (message is not null)
        {
            WriteTag(field, ProtoWireType.LengthDelimited);
            WriteLengthPrefixed(message);
        }
    }

    public void WriteRepeatedMessage<T>(int field, IReadOnlyList<T> messages)
        where T : class, IWireMessage<T>
    {
        foreach (var message in messages)
        {
            WriteTag(field, ProtoWireType.LengthDelimited);
            WriteLengthPrefixed(message);
        }
    }

    private void WriteStringValue(int field, string value)
    {
        WriteTag(field, ProtoWireType.LengthDelimited);
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint((uint)length);
        Reserve(length);
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    /// <summary>Writes the message in place, then moves it up by the size of its length and writes the length before it.</summary>
    private void WriteLengthPrefixed<T>(T message)
        where T : class, IWireMessage<T>
    {
        var start = _length;
        message.WriteTo(this);
        var length = _length - start;
        var prefix = VarintSize((uint)length);
        Reserve(prefix);
        Array.Copy(_buffer, start, _buffer, start + prefix, length);
        _length = start;
        WriteVarint((uint)length);
        _length = start + prefix + length;
    }

    private static int VarintSize(uint value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private void Reserve(int count)
    {
        if (_buffer.Length - _length < count)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }
    }
}
