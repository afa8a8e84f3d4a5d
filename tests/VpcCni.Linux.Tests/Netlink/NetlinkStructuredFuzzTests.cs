using System.Buffers.Binary;
using CsCheck;
using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Tests.Netlink;

/// <summary>
/// Seeded, bounded, structure-aware fuzzing of the netlink reader and the rtnetlink parsers above it: messages built
/// from generated headers and (nested) attributes whose lengths may lie. Nothing but a <see cref="VpcCni.Linux.Netlink.NetlinkException"/>
/// may escape, and no read leaves the datagram (that would be an out-of-range exception). CsCheck prints the seed.
/// </summary>
public sealed class NetlinkStructuredFuzzTests
{
    private static readonly string Seed = new PCG(5, 20261104).ToString();

    private static readonly ushort[] MessageTypes =
        [Rtm.NewLink, Rtm.DelLink, Rtm.NewAddr, Rtm.NewRoute, Rtm.NewNeigh, Rtm.NewRule, Rtm.NewNsId, 2, 3, 1, 0, 0xFFFF];

    /// <summary>One attribute: (declared length delta, type, value); a delta of 0 is an honest length.</summary>
    private static readonly Gen<byte[]> Attribute = Gen.Select(Gen.OneOf(0, 0, 0, 1, -1, 3, -4, 200), Gen.UShort, Gen.Byte.Array[0, 20],
        (delta, type, value) => Encode(delta, type, value));

    private static readonly Gen<byte[]> NestedAttribute = Gen.Select(Gen.UShort, Attribute.Array[0, 3],
        (type, children) => Encode(0, (ushort)(type | 0x8000), [.. children.SelectMany(c => c)]));

    private static readonly Gen<byte[]> Message = Gen.Select(
        Gen.OneOf(MessageTypes), Gen.UShort, Gen.OneOf(0u, 1u), Gen.OneOf(0, 0, 0, 1, -3, 100), Gen.Byte.Array[0, 28],
        Gen.OneOf(Attribute, NestedAttribute).Array[0, 6],
        (type, flags, sequence, delta, fixedHeader, attributes) =>
        {
            var body = fixedHeader.Concat(attributes.SelectMany(a => a)).ToArray();
            var message = new byte[16 + body.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)Math.Max(0, message.Length + delta));
            BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
            BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
            body.CopyTo(message, 16);
            return message;
        });

    private static readonly Gen<byte[]> Datagram = Gen.Select(Message.Array[1, 3], Gen.Int[0, 64], (messages, cut) =>
    {
        var bytes = messages.SelectMany(m => m).ToArray();
        // Sometimes a datagram cut short, as a truncated receive would leave it.
        return cut < bytes.Length && cut % 5 == 0 ? bytes[..cut] : bytes;
    });

    [Fact]
    public void Parsers_StructuredMalformedDatagrams_OnlyNetlinkExceptionsEscape()
    {
        var totals = new int[2];
        Datagram.Sample(datagram =>
        {
            var parsed = 0;
            var progress = new NetlinkSocket.ReplyProgress();
            try
            {
                NetlinkSocket.ProcessDatagram(datagram, 1u, "fuzz", ref progress, ref parsed, RtParsers.ParseAsEveryType);
            }
            catch (VpcCni.Linux.Netlink.NetlinkException)
            {
                // Error acks and malformed framing are reported this way by design.
            }

            var reader = new NetlinkMessageReader(datagram);
            while (reader.TryRead(out var message))
            {
                RtParsers.ParseAsEveryType(ref parsed, message);
                for (var offset = 0; offset <= Math.Min(28, message.Payload.Length); offset += 4)
                {
                    Walk(new NetlinkAttributeReader(message.Payload[offset..]), depth: 0);
                }
            }

            totals[0]++;
            totals[1] += parsed;
        }, seed: Check.Seed ?? Seed, iter: 20_000, threads: 1, print: Convert.ToHexString);

        totals[1].Should().BeGreaterThan(0, "honest messages among the generated ones must parse");
    }

    private static byte[] Encode(int delta, ushort type, byte[] value)
    {
        var padded = (4 + value.Length + 3) & ~3;
        var attribute = new byte[padded];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)Math.Clamp(4 + value.Length + delta, 0, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16LittleEndian(attribute.AsSpan(2), type);
        value.CopyTo(attribute, 4);
        return attribute;
    }

    private static void Walk(NetlinkAttributeReader attributes, int depth)
    {
        while (attributes.TryRead(out var attribute))
        {
            _ = attribute.TryGetUInt8(out _);
            _ = attribute.TryGetUInt16(out _);
            _ = attribute.TryGetUInt32(out _);
            _ = attribute.TryGetInt32(out _);
            _ = attribute.GetString();
            _ = attribute.StringEquals("eth0");
            _ = attribute.GetAddress();
            if (depth < 3)
            {
                Walk(attribute.Nested, depth + 1);
            }
        }
    }
}
