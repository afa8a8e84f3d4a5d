using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Tests.Netlink;

/// <summary>Seeded, bounded fuzzing: malformed datagrams never crash the reader, codecs or reply processing.</summary>
public sealed class ReaderFuzzTests
{
    private const int Iterations = 30_000;

    private static byte[][] Seeds()
    {
        var seeds = new List<byte[]>();
        void Add(ushort type, CodecBuild build)
        {
            var buffer = new byte[512];
            var writer = new NetlinkWriter(buffer, type, 0x2);
            build(ref writer);
            seeds.Add(writer.Complete().ToArray());
        }

        Add(Rtm.NewLink, (ref NetlinkWriter w) => RtCodecs.WriteLinkCreate(ref w, new VethCreateRequest("eni1234", "eth0") { Mtu = 9001, HardwareAddress = PhysicalAddress.Parse("02-00-00-00-00-01") }));
        Add(Rtm.NewAddr, (ref NetlinkWriter w) => RtCodecs.WriteAddress(ref w, new InterfaceAddress(3, IPAddress.Parse("2001:db8::1"), 64) { Flags = 0x202, Label = "x" }));
        Add(Rtm.NewRoute, (ref NetlinkWriter w) => RtCodecs.WriteRoute(ref w, new Route(IPNetwork.Parse("10.0.0.0/8")) { Gateway = IPAddress.Parse("10.0.0.1"), OutputLinkIndex = 2, Priority = 5, PreferredSource = IPAddress.Parse("10.0.0.2"), Table = 1000 }, false));
        Add(Rtm.NewRule, (ref NetlinkWriter w) => RtCodecs.WriteRule(ref w, new RoutingRule(AddressFamily.InterNetwork) { Priority = 1, Source = IPNetwork.Parse("10.0.0.0/8"), FirewallMark = 1, InputInterface = "a", OutputInterface = "b" }));
        Add(Rtm.NewNeigh, (ref NetlinkWriter w) => RtCodecs.WriteNeighbor(ref w, new Neighbor(1, IPAddress.Parse("169.254.1.1")) { LinkLayerAddress = PhysicalAddress.Parse("02-00-00-00-00-01") }));
        seeds.Add([36, 0, 0, 0, 2, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0xef, 0xff, 0xff, 0xff, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        seeds.Add([20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        return seeds.ToArray();
    }

    private delegate void CodecBuild(ref NetlinkWriter writer);

    [Fact]
    public void ProcessDatagram_MalformedInput_NeverThrowsAnythingButNetlinkException()
    {
        var random = new Random(20240601);
        var seeds = Seeds();
        var parsed = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var datagram = Mutate(random, seeds);
            // Sequence 1 matches the seeds' header (after mutation, or not).
            foreach (var sequence in new uint[] { 0, 1 })
            {
                var progress = new NetlinkSocket.ReplyProgress();
                try
                {
                    NetlinkSocket.ProcessDatagram(datagram, sequence, "fuzz", ref progress, ref parsed, RtParsers.ParseAsEveryType);
                }
                catch (VpcCni.Linux.Netlink.NetlinkException)
                {
                    // Expected for error acks and malformed framing.
                }
            }

            // Parse every message regardless of sequence, as a reader of a dump would.
            var reader = new NetlinkMessageReader(datagram);
            while (reader.TryRead(out var message))
            {
                RtParsers.ParseAsEveryType(ref parsed, message);
                var attributes = new NetlinkAttributeReader(message.Payload);
                while (attributes.TryRead(out var attribute))
                {
                    _ = attribute.GetString();
                    _ = attribute.GetAddress();
                    var nested = attribute.Nested;
                    while (nested.TryRead(out _))
                    {
                    }
                }
            }
        }

        parsed.Should().BeGreaterThan(0, "mutations that keep the frame valid must still be parsed");
    }

    private static byte[] Mutate(Random random, byte[][] seeds)
    {
        switch (random.Next(6))
        {
            case 0: // random bytes
                var bytes = new byte[random.Next(0, 96)];
                random.NextBytes(bytes);
                return bytes;
            case 1: // truncated
                var seed = seeds[random.Next(seeds.Length)];
                return seed[..random.Next(0, seed.Length)];
            case 2: // bad nlmsg_len
                var copy = (byte[])seeds[random.Next(seeds.Length)].Clone();
                BitConverter.TryWriteBytes(copy, (uint)random.Next(0, 4096));
                return copy;
            case 3: // flipped bytes anywhere (attribute lengths included)
                var flipped = (byte[])seeds[random.Next(seeds.Length)].Clone();
                for (var n = random.Next(1, 6); n > 0; n--)
                {
                    flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                }

                return flipped;
            case 4: // concatenation with garbage tail
                var first = seeds[random.Next(seeds.Length)];
                var tail = new byte[random.Next(1, 40)];
                random.NextBytes(tail);
                return [.. first, .. tail];
            default: // valid seed unchanged
                return seeds[random.Next(seeds.Length)];
        }
    }
}
