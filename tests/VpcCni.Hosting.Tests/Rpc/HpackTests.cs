using System.Buffers;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

public sealed class HpackTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Fact]
    public void Decode_Rfc7541C3RequestsWithoutHuffman_UseAndGrowTheDynamicTable()
    {
        var decoder = new HpackDecoder();

        decoder.Decode(Hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")).Should().Equal(
            (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"));
        decoder.Decode(Hex("8286 84be 5808 6e6f 2d63 6163 6865")).Should().Equal(
            (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache"));
        decoder.Decode(Hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")).Should().Equal(
            (":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value"));
    }

    [Fact]
    public void Decode_Rfc7541C4RequestsWithHuffman_DecodeTheSameFields()
    {
        var decoder = new HpackDecoder();

        decoder.Decode(Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).Should().Equal(
            (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"));
        decoder.Decode(Hex("8286 84be 5886 a8eb 1064 9cbf")).Should().Equal(
            (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache"));
        decoder.Decode(Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")).Should().Equal(
            (":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value"));
    }

    [Fact]
    public void Decode_TableSizeUpdateToZero_EvictsEverything()
    {
        var decoder = new HpackDecoder();
        decoder.Decode(Hex("400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")); // inserts index 62

        decoder.Decode([0x20]).Should().BeEmpty();
        var act = () => decoder.Decode([0xBE]);

        act.Should().Throw<HpackException>().WithMessage("*index 62*");
    }

    [Fact]
    public void Decode_SizeUpdateAboveAdvertised_Throws()
    {
        var act = () => new HpackDecoder(maxTableSize: 4096).Decode([0x3F, 0xE2, 0x1F]); // 4097

        act.Should().Throw<HpackException>().WithMessage("*exceeds*");
    }

    [Theory]
    [InlineData("ff")] // 8 bits of padding
    [InlineData("fe")] // padding not all ones
    [InlineData("ffff ffff")] // contains EOS
    public void HuffmanDecode_InvalidInput_Throws(string hex)
    {
        var act = () => HpackHuffman.Decode(Hex(hex));

        act.Should().Throw<HpackException>();
    }

    [Fact]
    public void HuffmanDecode_EverySymbolEncodedCanonically_RoundTrips()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        HpackHuffman.Decode(HuffmanEncode(all)).Should().Equal(all);
    }

    [Theory]
    [InlineData(0, 13, 0x1ff8)]
    [InlineData(' ', 6, 0x14)]
    [InlineData('a', 5, 0x3)]
    [InlineData(255, 26, 0x3ffffee)]
    [InlineData(256, 30, 0x3fffffff)]
    public void Encode_KnownSymbols_MatchRfc7541AppendixB(int symbol, int length, uint code) =>
        HpackHuffman.Encode(symbol).Should().Be((code, length));

    [Theory]
    [InlineData(10, 5, "0a")]
    [InlineData(1337, 5, "1f9a0a")]
    [InlineData(42, 8, "2a")]
    public void Integers_Rfc7541C1Examples_EncodeAndDecode(int value, int prefix, string hex)
    {
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.WriteInteger(output, value, prefix, 0);
        var position = 0;

        Convert.ToHexStringLower(output.WrittenSpan).Should().Be(hex);
        HpackDecoder.ReadInteger(output.WrittenSpan, ref position, prefix).Should().Be(value);
    }

    [Fact]
    public void Decode_WhatTheEncoderWrites_ReadsBackWithoutTouchingTheDynamicTable()
    {
        var block = new ArrayBufferWriter<byte>();
        HpackEncoder.WriteIndexed(block, 3);
        HpackEncoder.WriteLiteral(block, 4, "/rpc.CNIBackend/AddNetwork");
        HpackEncoder.WriteLiteral(block, "grpc-timeout", "10000m");
        var decoder = new HpackDecoder();

        decoder.Decode(block.WrittenSpan).Should().Equal((":method", "POST"), (":path", "/rpc.CNIBackend/AddNetwork"), ("grpc-timeout", "10000m"));
        var act = () => decoder.Decode([0xBE]);
        act.Should().Throw<HpackException>("literals without indexing never enter the table");
    }

    [Fact]
    public void Decode_TruncatedString_Throws()
    {
        var act = () => new HpackDecoder().Decode(Hex("400a 6375 73"));

        act.Should().Throw<HpackException>().WithMessage("*past the header block*");
    }

    private static byte[] HuffmanEncode(byte[] input)
    {
        var bits = new List<bool>();
        foreach (var symbol in input)
        {
            var (code, length) = HpackHuffman.Encode(symbol);
            for (var i = length - 1; i >= 0; i--)
            {
                bits.Add(((code >> i) & 1) == 1);
            }
        }

        while (bits.Count % 8 != 0)
        {
            bits.Add(true);
        }

        var bytes = new byte[bits.Count / 8];
        for (var i = 0; i < bits.Count; i++)
        {
            if (bits[i])
            {
                bytes[i / 8] |= (byte)(0x80 >> (i % 8));
            }
        }

        return bytes;
    }
}
