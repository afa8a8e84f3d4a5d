using System.Buffers;
using System.Text;
using System.Text.Json;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniJsonEncoderTests
{
    [Fact]
    public void WriteString_EveryBmpCharacter_MatchesDefaultEncoder()
    {
        for (var c = 0; c <= 0xFFFF; c++)
        {
            if (char.IsSurrogate((char)c))
            {
                continue;
            }

            var text = "a" + (char)c + "b";
            Write(text, custom: true).Should().Be(Write(text, custom: false), "U+{0:X4} must be escaped as the default encoder does", c);
        }
    }

    [Theory]
    [InlineData("\U0001F600")]
    [InlineData("x\U0010FFFFy")]
    [InlineData("\"quoted\" \\ back/slash +<>&'` \b\t\n\f\r\u007F\u0000")]
    [InlineData("/var/run/netns/cni-1234")]
    [InlineData("")]
    public void WriteString_MixedText_MatchesDefaultEncoder(string text) =>
        Write(text, custom: true).Should().Be(Write(text, custom: false));

    [Theory]
    [InlineData("\uD800")]
    [InlineData("a\uDC00b")]
    [InlineData("\uDBFF\uD800")]
    public void WriteString_LoneSurrogate_BehavesAsDefaultEncoder(string text)
    {
        var expected = Capture(() => Write(text, custom: false));
        Capture(() => Write(text, custom: true)).Should().Be(expected);
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0xC3, 0xA9, 0x62 })]
    [InlineData(new byte[] { 0x61, 0xFF, 0x62 })]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public void WriteStringUtf8_AnyBytes_BehavesAsDefaultEncoder(byte[] utf8)
    {
        var expected = Capture(() => WriteUtf8(utf8, custom: false));
        Capture(() => WriteUtf8(utf8, custom: true)).Should().Be(expected);
    }

    [Fact]
    public void WritePropertyName_NeedsEscaping_MatchesDefaultEncoder()
    {
        static string WriteName(bool custom)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, custom ? CniJsonEncoder.WriterOptions : default))
            {
                writer.WriteStartObject();
                writer.WriteNumber("k<é>\"\u2028", 1);
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        WriteName(custom: true).Should().Be(WriteName(custom: false));
    }

    private static string Write(string text, bool custom)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, custom ? CniJsonEncoder.WriterOptions : default))
        {
            writer.WriteStringValue(text);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string WriteUtf8(byte[] utf8, bool custom)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, custom ? CniJsonEncoder.WriterOptions : default))
        {
            writer.WriteStringValue(utf8);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Capture(Func<string> write)
    {
        try
        {
            return write();
        }
        catch (Exception e)
        {
            return e.GetType().Name;
        }
    }
}
