using System.Buffers;
using CsCheck;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>
/// Seeded fuzzing of the frame codec alone: arbitrary and mutated bytes decode to frames or end in an
/// <see cref="Http2ProtocolException"/> (its documented failure), never another exception; encoded frames decode back.
/// </summary>
public sealed class Http2FrameCodecFuzzTests
{
    private const int Iterations = 20_000;
    private static readonly string Seed = new PCG(12, 20261212).ToString();

    private static readonly Gen<byte[]> OneFrame = Gen.Select(Gen.Byte[0, 12], Gen.Byte, Gen.OneOf(Gen.Const(0), Gen.Const(1), Gen.Int), Gen.Byte.Array[0, 48],
        (type, flags, stream, payload) =>
        {
            var output = new ArrayBufferWriter<byte>();
            Http2FrameCodec.WriteFrame(output, (Http2FrameType)type, flags, stream, payload);
            return output.WrittenSpan.ToArray();
        });

    // Well-formed frames, random frames and raw bytes, concatenated, then a few octets overwritten.
    private static readonly Gen<byte[]> Bytes = MutatedBytes.Of(Gen.OneOf(OneFrame, Gen.Byte.Array[0, 32]), maxParts: 6);

    [Fact]
    public void Decode_ArbitraryBytes_YieldFramesOrAnHttp2ProtocolExceptionOnly()
    {
        var outcomes = new Dictionary<string, int>();
        Gen.Select(Bytes, Gen.OneOf(Gen.Const(Http2FrameCodec.DefaultMaxFrameSize), Gen.Int[0, 40])).Sample((bytes, maxFrameSize) =>
        {
            string outcome;
            try
            {
                outcome = DecodeAll(bytes, maxFrameSize);
            }
            catch (Http2ProtocolException ex)
            {
                Enum.IsDefined(ex.ErrorCode).Should().BeTrue();
                ex.Message.Should().EndWith("ERROR)");
                outcome = Http2ProtocolException.NameOf(ex.ErrorCode);
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }, seed: Check.Seed ?? Seed, iter: Iterations, threads: 1, print: t => Convert.ToHexString(t.Item1) + " max " + t.Item2);

        outcomes.Keys.Should().Contain(["complete", "partial", "FRAME_SIZE_ERROR", "PROTOCOL_ERROR"]);
    }

    [Fact]
    public void WriteFrame_AnyFrame_DecodesBackUnchanged()
    {
        Gen.Select(Gen.Byte, Gen.Byte, Gen.Int[0, int.MaxValue], Gen.Byte.Array[0, 300]).Sample((type, flags, stream, payload) =>
        {
            var output = new ArrayBufferWriter<byte>();
            Http2FrameCodec.WriteFrame(output, (Http2FrameType)type, flags, stream, payload);

            Http2FrameCodec.TryDecode(output.WrittenSpan, Http2FrameCodec.DefaultMaxFrameSize, out var frame, out var length).Should().BeTrue();
            length.Should().Be(output.WrittenCount);
            ((byte)frame.Type, frame.Flags, frame.Stream).Should().Be((type, flags, stream));
            frame.Payload.ToArray().Should().Equal(payload);
        }, seed: Check.Seed ?? Seed, iter: 2_000, threads: 1);
    }

    /// <summary>Decodes, validates and reads every frame's payload as the connection would; "complete" or "partial".</summary>
    private static string DecodeAll(byte[] bytes, int maxFrameSize)
    {
        var rest = bytes.AsSpan();
        while (Http2FrameCodec.TryDecode(rest, maxFrameSize, out var frame, out var length))
        {
            rest = rest[length..];
            Http2FrameCodec.Validate(frame);
            switch (frame.Type)
            {
                case Http2FrameType.Data:
                    Http2FrameCodec.DataPayload(frame);
                    break;
                case Http2FrameType.Headers or Http2FrameType.Continuation:
                    Http2FrameCodec.HeaderBlockFragment(frame);
                    break;
                case Http2FrameType.Settings when !frame.HasFlag(Http2Flags.Ack):
                    Http2FrameCodec.Settings(frame.Payload);
                    break;
                case Http2FrameType.WindowUpdate:
                    Http2FrameCodec.WindowIncrement(frame.Payload);
                    break;
                case Http2FrameType.RstStream:
                    Http2FrameCodec.RstStreamCode(frame.Payload);
                    break;
                case Http2FrameType.GoAway:
                    Http2FrameCodec.GoAway(frame.Payload);
                    break;
            }
        }

        return rest.IsEmpty ? "complete" : "partial";
    }
}
