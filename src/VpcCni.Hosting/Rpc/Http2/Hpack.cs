using System.Buffers;
using System.Text;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>A header block could not be decoded (RFC 7541): a connection error.</summary>
internal sealed class HpackException(string message) : Exception("HPACK: " + message);

/// <summary>
/// HPACK decoder (RFC 7541): static and dynamic tables, integer and string literals, Huffman. One per connection,
/// fed every header block in order, because the dynamic table is connection state.
/// </summary>
internal sealed class HpackDecoder(int maxTableSize = HpackDecoder.DefaultTableSize, int maxHeaderListSize = 64 * 1024)
{
    public const int DefaultTableSize = 4096;

    private readonly int _maxTableSize = maxTableSize;

    private static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    // Newest entry first (HPACK index 62 is the most recent insertion).
    private readonly List<(string Name, string Value)> _dynamic = [];
    private int _dynamicSize;
    private int _dynamicCapacity = maxTableSize;

    /// <summary>Decodes one complete header block (HEADERS plus any CONTINUATION fragments).</summary>
    public List<(string Name, string Value)> Decode(ReadOnlySpan<byte> block)
    {
        var headers = new List<(string, string)>();
        var listSize = 0;
        var position = 0;
        var sawField = false;
        while (position < block.Length)
        {
            var first = block[position];
            (string Name, string Value) field;
            if ((first & 0x80) != 0)
            {
                field = Lookup(ReadInteger(block, ref position, 7));
            }
            else if ((first & 0xC0) == 0x40)
            {
                field = ReadLiteral(block, ref position, 6);
                Insert(field);
            }
            else if ((first & 0xE0) == 0x20)
            {
                // A size update is only allowed at the start of a block (RFC 7541 §4.2).
                if (sawField)
                {
                    throw new HpackException("dynamic table size update after a header field");
                }

                var size = ReadInteger(block, ref position, 5);
                if (size > _maxTableSize)
                {
                    throw new HpackException($"dynamic table size {size} exceeds the advertised {_maxTableSize}");
                }

                _dynamicCapacity = size;
                Evict(0);
                continue;
            }
            else
            {
                // Literal without indexing (0000) or never indexed (0001): same layout, 4-bit prefix.
                field = ReadLiteral(block, ref position, 4);
            }

            sawField = true;
            listSize += field.Name.Length + field.Value.Length + 32;
            if (listSize > maxHeaderListSize)
            {
                throw new HpackException($"header list larger than {maxHeaderListSize} octets");
            }

            headers.Add(field);
        }

        return headers;
    }

    /// <summary>Reads an HPACK integer with an N-bit prefix (RFC 7541 §5.1).</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> source, ref int position, int prefixBits)
    {
        if (position >= source.Length)
        {
            throw new HpackException("truncated integer");
        }

        var mask = (1 << prefixBits) - 1;
        var value = source[position++] & mask;
        if (value < mask)
        {
            return value;
        }

        var shift = 0;
        while (true)
        {
            if (position >= source.Length)
            {
                throw new HpackException("truncated integer");
            }

            var octet = source[position++];
            if (shift > 21)
            {
                throw new HpackException("integer too large");
            }

            value += (octet & 0x7F) << shift;
            shift += 7;
            if ((octet & 0x80) == 0)
            {
                return value;
            }
        }
    }

    private (string Name, string Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var index = ReadInteger(block, ref position, prefixBits);
        var name = index == 0 ? ReadString(block, ref position) : Lookup(index).Name;
        var value = ReadString(block, ref position);
        return (name, value);
    }

    private static string ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length)
        {
            throw new HpackException("truncated string literal");
        }

        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position)
        {
            throw new HpackException("string literal runs past the header block");
        }

        var raw = block.Slice(position, length);
        position += length;
        return huffman ? Encoding.UTF8.GetString(HpackHuffman.Decode(raw)) : Encoding.UTF8.GetString(raw);
    }

    private (string Name, string Value) Lookup(int index)
    {
        if (index >= 1 && index <= StaticTable.Length)
        {
            return StaticTable[index - 1];
        }

        var dynamicIndex = index - StaticTable.Length - 1;
        if (index == 0 || dynamicIndex >= _dynamic.Count)
        {
            throw new HpackException($"header index {index} is out of range");
        }

        return _dynamic[dynamicIndex];
    }

    private void Insert((string Name, string Value) field)
    {
        var size = EntrySize(field);
        if (size > _dynamicCapacity)
        {
            // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
            _dynamic.Clear();
            _dynamicSize = 0;
            return;
        }

        Evict(size);
        _dynamic.Insert(0, field);
        _dynamicSize += size;
    }

    private void Evict(int incoming)
    {
        while (_dynamic.Count > 0 && _dynamicSize + incoming > _dynamicCapacity)
        {
            _dynamicSize -= EntrySize(_dynamic[^1]);
            _dynamic.RemoveAt(_dynamic.Count - 1);
        }
    }

    // RFC 7541 §4.1: octets of name and value plus 32.
    private static int EntrySize((string Name, string Value) field) =>
        Encoding.UTF8.GetByteCount(field.Name) + Encoding.UTF8.GetByteCount(field.Value) + 32;
}

/// <summary>
/// Writes request header blocks. Only literals that never enter the peer's dynamic table and no Huffman, so the
/// encoder needs no state and the peer's table size setting cannot affect it.
/// </summary>
internal static class HpackEncoder
{
    /// <summary>A static-table entry whose name and value both match (indexed field, RFC 7541 §6.1).</summary>
    public static void WriteIndexed(IBufferWriter<byte> output, int staticIndex) => WriteInteger(output, staticIndex, 7, 0x80);

    /// <summary>Literal without indexing with a static-table name (RFC 7541 §6.2.2).</summary>
    public static void WriteLiteral(IBufferWriter<byte> output, int staticNameIndex, string value)
    {
        WriteInteger(output, staticNameIndex, 4, 0x00);
        WriteString(output, value);
    }

    /// <summary>Literal without indexing with a literal name.</summary>
    public static void WriteLiteral(IBufferWriter<byte> output, string name, string value)
    {
        output.GetSpan(1)[0] = 0x00;
        output.Advance(1);
        WriteString(output, name);
        WriteString(output, value);
    }

    internal static void WriteInteger(IBufferWriter<byte> output, int value, int prefixBits, byte pattern)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var span = output.GetSpan(6);
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            span[0] = (byte)(pattern | value);
            output.Advance(1);
            return;
        }

        span[0] = (byte)(pattern | max);
        var written = 1;
        value -= max;
        while (value >= 0x80)
        {
            span[written++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        span[written++] = (byte)value;
        output.Advance(written);
    }

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteInteger(output, length, 7, 0x00);
        var span = output.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        output.Advance(length);
    }
}
