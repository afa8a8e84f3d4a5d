using System.Text;

namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>
/// Reads protobuf's wire format from one message's bytes. A message's reader loops over <see cref="TryReadTag"/>,
/// reads the fields it knows with the wire type the .proto gives them and hands everything else (unknown numbers, a
/// known number with another wire type) to <see cref="SkipField"/>, as Google.Protobuf's generated parsers do.
/// Anything that is not protobuf is a <see cref="ProtoWireException"/>, never another exception.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    /// <summary>Google.Protobuf's recursion limit; here it bounds the nesting of unknown groups.</summary>
    private const int MaxGroupDepth = 100;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    /// <summary>The next field's number and wire type; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out ProtoWireType wireType)
    {
        if (_position == _data.Length)
        {
            (field, wireType) = (0, default);
            return false;
        }

        // Tags and lengths are 32-bit values: like Google.Protobuf (the daemon's parser), the low 32 bits of a longer varint.
        var tag = (uint)ReadVarint();
        field = (int)(tag >> 3);
        wireType = (ProtoWireType)(tag & 7);
        if (field == 0)
        {
            throw new ProtoWireException("malformed protobuf message: field number 0");
        }

        if (wireType > ProtoWireType.Fixed32)
        {
            throw new ProtoWireException($"malformed protobuf message: wire type {(int)wireType} of field {field}");
        }

        return true;
    }

    /// <summary>Up to ten octets; bits beyond 64 are dropped, as Google.Protobuf does.</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position == _data.Length)
            {
                throw new ProtoWireException("malformed protobuf message: truncated varint");
            }

            var b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new ProtoWireException("malformed protobuf message: a varint longer than ten octets");
    }

    /// <summary>int32 and enums: the low 32 bits of the varint (a negative value arrives sign-extended).</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public ulong ReadUInt64() => ReadVarint();

    public bool ReadBool() => ReadVarint() != 0;

    /// <exception cref="ProtoWireException">Also when the bytes are not UTF-8 (proto3 strings must be).</exception>
    public string ReadString()
    {
        var bytes = ReadLengthDelimited();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtoWireException("malformed protobuf message: a string field that is not UTF-8", ex);
        }
    }

    public ReadOnlyMemory<byte> ReadBytes() => ReadLengthDelimited().ToArray();

    /// <summary>A sub-message; merged into <paramref name="into"/> when the field was seen before.</summary>
    public T ReadMessage<T>(T? into)
        where T : class, IWireMessage<T> => T.Read(ReadLengthDelimited(), into);

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var length = (int)(uint)ReadVarint();
        if (length < 0)
        {
            throw new ProtoWireException("malformed protobuf message: a negative length");
        }

        if (length > _data.Length - _position)
        {
            throw new ProtoWireException("malformed protobuf message: a length beyond the end of the message");
        }

        var value = _data.Slice(_position, length);
        _position += length;
        return value;
    }

    /// <summary>Skips the value of a field this message does not read, whatever its wire type (groups included).</summary>
    public void SkipField(int field, ProtoWireType wireType) => Skip(field, wireType, depth: 0);

    private void Skip(int field, ProtoWireType wireType, int depth)
    {
        switch (wireType)
        {
            case ProtoWireType.Varint:
                ReadVarint();
                break;
            case ProtoWireType.Fixed64:
                Advance(8);
                break;
            case ProtoWireType.Fixed32:
                Advance(4);
                break;
            case ProtoWireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case ProtoWireType.StartGroup:
                if (depth >= MaxGroupDepth)
                {
                    throw new ProtoWireException("malformed protobuf message: groups nested too deeply");
                }

                while (true)
                {
                    if (!TryReadTag(out var inner, out var innerType))
                    {
                        throw new ProtoWireException($"malformed protobuf message: group {field} has no end");
                    }

                    if (innerType == ProtoWireType.EndGroup)
                    {
                        if (inner != field)
                        {
                            throw new ProtoWireException($"malformed protobuf message: group {field} ended by field {inner}");
                        }

                        return;
                    }

                    Skip(inner, innerType, depth + 1);
                }

            default:
                throw new ProtoWireException($"malformed protobuf message: end of group {field} outside a group");
        }
    }

    private void Advance(int count)
    {
        if (_data.Length - _position < count)
        {
            throw new ProtoWireException("malformed protobuf message: truncated fixed-width value");
        }

        _position += count;
    }
}
