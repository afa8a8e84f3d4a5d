using System.Text.Encodings.Web;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>
/// Escapes exactly as <see cref="JavaScriptEncoder.Default"/> does (printable ASCII kept except
/// <c>" &amp; ' + &lt; &gt; \ `</c>; <c>\b \t \n \f \r \\</c> short forms; everything else <c>\uXXXX</c> in upper-case hex,
/// invalid text as <c>\uFFFD</c>), so the codec writes the same bytes as before.
/// </summary>
/// <remarks>
/// Why not the default: its type initialiser also builds the "unsafe relaxed" encoder's table by walking all 65,536
/// code points, about a fifth of a plugin process's user-mode instructions on every ADD (docs/benchmarks.md).
/// <see cref="Utf8JsonWriter"/> touches it on the first string it writes whenever no encoder is given.
/// </remarks>
internal sealed class CniJsonEncoder : JavaScriptEncoder
{
    public static readonly CniJsonEncoder Instance = new();

    /// <summary>Writer options using this encoder; compact output, default validation.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = Instance };

    private CniJsonEncoder()
    {
    }

    /// <summary>"\uXXXX" for each UTF-16 code unit.</summary>
    public override int MaxOutputCharactersPerInputCharacter => 6;

    public override bool WillEncode(int unicodeScalar) => unicodeScalar is < 0x20 or > 0x7E || IsForbiddenAscii(unicodeScalar);

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (var i = 0; i < textLength; i++)
        {
            if (WillEncode(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        for (var i = 0; i < utf8Text.Length; i++)
        {
            // Any byte ≥ 0x80 starts a non-ASCII sequence, which is always encoded.
            if (WillEncode(utf8Text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var destination = new Span<char>(buffer, bufferLength);
        numberOfCharactersWritten = 0;
        if (!WillEncode(unicodeScalar))
        {
            if (destination.IsEmpty)
            {
                return false;
            }

            destination[0] = (char)unicodeScalar;
            numberOfCharactersWritten = 1;
            return true;
        }

        var shortForm = unicodeScalar switch
        {
            '\b' => 'b',
            '\t' => 't',
            '\n' => 'n',
            '\f' => 'f',
            '\r' => 'r',
            '\\' => '\\',
            _ => '\0',
        };
        if (shortForm != '\0')
        {
            if (destination.Length < 2)
            {
                return false;
            }

            destination[0] = '\\';
            destination[1] = shortForm;
            numberOfCharactersWritten = 2;
            return true;
        }

        if (unicodeScalar > 0xFFFF)
        {
            // Outside the BMP: the surrogate pair, each half escaped.
            if (destination.Length < 12)
            {
                return false;
            }

            var offset = unicodeScalar - 0x10000;
            WriteEscapedUnit(destination, (char)(0xD800 + (offset >> 10)));
            WriteEscapedUnit(destination[6..], (char)(0xDC00 + (offset & 0x3FF)));
            numberOfCharactersWritten = 12;
            return true;
        }

        if (destination.Length < 6)
        {
            return false;
        }

        WriteEscapedUnit(destination, (char)unicodeScalar);
        numberOfCharactersWritten = 6;
        return true;
    }

    private static bool IsForbiddenAscii(int c) => c is '"' or '&' or '\'' or '+' or '<' or '>' or '\\' or '`';

    private static void WriteEscapedUnit(Span<char> destination, char unit)
    {
        const string Hex = "0123456789ABCDEF";
        destination[0] = '\\';
        destination[1] = 'u';
        destination[2] = Hex[unit >> 12];
        destination[3] = Hex[(unit >> 8) & 0xF];
        destination[4] = Hex[(unit >> 4) & 0xF];
        destination[5] = Hex[unit & 0xF];
    }
}
