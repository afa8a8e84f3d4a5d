namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// HPACK's static Huffman code (RFC 7541 Appendix B). The code is canonical, so the bit length of each of the 257
/// symbols (256 = EOS) determines it; codes are derived from the lengths once, which keeps the table small and checkable.
/// </summary>
internal static class HpackHuffman
{
    private const int EndOfString = 256;
    private const int MaxCodeLength = 30;

    // RFC 7541 Appendix B, "len" column, symbols 0..256.
    private static ReadOnlySpan<byte> CodeLengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ];

    // Canonical decoding tables: per length, how many codes, the first code and where its symbols start in SortedSymbols.
    private static readonly int[] CountPerLength = new int[MaxCodeLength + 1];
    private static readonly int[] FirstCodePerLength = new int[MaxCodeLength + 1];
    private static readonly int[] FirstIndexPerLength = new int[MaxCodeLength + 1];
    private static readonly short[] SortedSymbols = BuildTables();

    /// <summary>The code of <paramref name="symbol"/> (right-aligned) and its length in bits.</summary>
    public static (uint Code, int Length) Encode(int symbol)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(symbol);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(symbol, EndOfString);
        var length = CodeLengths[symbol];
        var index = Array.IndexOf(SortedSymbols, (short)symbol);
        return ((uint)(FirstCodePerLength[length] + (index - FirstIndexPerLength[length])), length);
    }

    /// <summary>Decodes a Huffman-coded string literal; padding must be at most 7 one-bits (RFC 7541 §5.2).</summary>
    /// <exception cref="HpackException">Invalid code, EOS in the data, or bad padding.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> source)
    {
        // Each symbol takes at least 5 bits, so the output is at most 8/5 of the input.
        var output = new byte[source.Length * 8 / 5 + 1];
        var written = 0;
        var code = 0;
        var length = 0;
        var allOnes = true;
        foreach (var octet in source)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                var value = (octet >> bit) & 1;
                code = (code << 1) | value;
                length++;
                allOnes &= value == 1;
                var offset = code - FirstCodePerLength[length];
                if (offset < CountPerLength[length] && offset >= 0)
                {
                    var symbol = SortedSymbols[FirstIndexPerLength[length] + offset];
                    if (symbol == EndOfString)
                    {
                        throw new HpackException("Huffman-coded string contains EOS");
                    }

                    output[written++] = (byte)symbol;
                    code = 0;
                    length = 0;
                    allOnes = true;
                }
                else if (length == MaxCodeLength)
                {
                    throw new HpackException("invalid Huffman code");
                }
            }
        }

        if (length > 7 || !allOnes)
        {
            throw new HpackException("invalid Huffman padding");
        }

        return output.AsSpan(0, written).ToArray();
    }

    private static short[] BuildTables()
    {
        var lengths = CodeLengths;
        foreach (var length in lengths)
        {
            CountPerLength[length]++;
        }

        var sorted = new short[lengths.Length];
        var next = 0;
        var code = 0;
        for (var length = 1; length <= MaxCodeLength; length++)
        {
            code <<= 1;
            FirstCodePerLength[length] = code;
            FirstIndexPerLength[length] = next;
            for (var symbol = 0; symbol < lengths.Length; symbol++)
            {
                if (lengths[symbol] == length)
                {
                    sorted[next++] = (short)symbol;
                }
            }

            code += CountPerLength[length];
        }

        return sorted;
    }
}
