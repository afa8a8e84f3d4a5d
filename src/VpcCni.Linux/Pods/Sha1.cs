using System.Buffers.Binary;
using System.Numerics;

namespace VpcCni.Linux.Pods;

/// <summary>
/// SHA-1 (FIPS 180-4) for naming host veths only. Not for security: upstream names interfaces with SHA-1, so we must
/// too, and computing it here keeps a short-lived CNI plugin from loading and initialising OpenSSL (several
/// milliseconds) for one 20-byte digest.
/// </summary>
internal static class Sha1
{
    public const int HashSize = 20;

    public static void HashData(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < HashSize)
        {
            throw new ArgumentException($"the destination must hold {HashSize} bytes", nameof(destination));
        }

        Span<uint> state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
        Span<uint> schedule = stackalloc uint[80];
        var fullBlocks = source.Length / 64;
        for (var block = 0; block < fullBlocks; block++)
        {
            Compress(state, schedule, source.Slice(block * 64, 64));
        }

        // The tail, a 0x80 marker, zero padding and the message length in bits (big-endian) fill one or two blocks.
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        var remaining = source[(fullBlocks * 64)..];
        remaining.CopyTo(tail);
        tail[remaining.Length] = 0x80;
        var tailLength = remaining.Length + 9 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(tail[(tailLength - 8)..], (ulong)source.Length * 8);
        for (var offset = 0; offset < tailLength; offset += 64)
        {
            Compress(state, schedule, tail.Slice(offset, 64));
        }

        for (var i = 0; i < 5; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[(i * 4)..], state[i]);
        }
    }

    private static void Compress(Span<uint> state, Span<uint> w, ReadOnlySpan<byte> block)
    {
        for (var t = 0; t < 16; t++)
        {
            w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        }

        for (var t = 16; t < 80; t++)
        {
            w[t] = BitOperations.RotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }

        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
        for (var t = 0; t < 80; t++)
        {
            var (f, k) = t switch
            {
                < 20 => ((b & c) | (~b & d), 0x5A827999u),
                < 40 => (b ^ c ^ d, 0x6ED9EBA1u),
                < 60 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDCu),
                _ => (b ^ c ^ d, 0xCA62C1D6u),
            };
            var temp = BitOperations.RotateLeft(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = BitOperations.RotateLeft(b, 30);
            b = a;
            a = temp;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
    }
}
