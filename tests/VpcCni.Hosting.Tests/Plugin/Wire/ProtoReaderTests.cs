using CsCheck;
using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Tests.Rpc;

namespace VpcCni.Hosting.Tests.Plugin.Wire;

/// <summary>What the codec's reader refuses, and seeded fuzzing of it against the generated parsers.</summary>
public sealed class ProtoReaderTests
{
    // Only the first iteration uses the seed: CsCheck draws the others afresh on every run. A failure prints its seed;
    // CsCheck_Seed=<seed> in the environment makes that case the first iteration.
    private static readonly string Seed = new PCG(17, 20261204).ToString();

    public static TheoryData<string, string> Malformed => new()
    {
        { "08", "truncated varint" },
        { "08FFFFFFFFFFFFFFFFFFFF01", "longer than ten octets" },
        { "0A05616263", "beyond the end" },
        { "0AFFFFFF7F", "beyond the end" },
        { "00", "field number 0" },
        { "0F00", "wire type 7" },
        { "0E00", "wire type 6" },
        { "0C", "outside a group" },
        { "0B", "has no end" },
        { "0B14", "ended by field 2" },
        { "09010203", "truncated fixed-width" },
        { "0D0102", "truncated fixed-width" },
        { "4202C328", "not UTF-8" },
        { "8080808010", "field number 0" },
        { "0AFFFFFFFF08", "negative length" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_Malformed_ProtoWireExceptionNamingTheFault(string hex, string fault)
    {
        var act = () => WireMessage.Parse<AddNetworkReply>(Convert.FromHexString(hex));

        act.Should().Throw<ProtoWireException>().WithMessage($"malformed protobuf message: *{fault}*");
    }

    [Fact]
    public void Parse_GroupsNestedDeeperThanTheLimit_Refused()
    {
        var deep = Enumerable.Repeat((byte)0x0B, 101).Concat(Enumerable.Repeat((byte)0x0C, 101)).ToArray();
        var act = () => WireMessage.Parse<AddNetworkReply>(deep);

        act.Should().Throw<ProtoWireException>().WithMessage("*nested too deeply*");
    }

    [Fact]
    public void Parse_TenOctetVarintWithBitsBeyond64_TruncatedAsGoogleProtobufDoes()
    {
        // int32 field 3 of IPAllocationMetadata: 0x7F in the tenth octet sets bits above 63, which protobuf drops.
        var bytes = Convert.FromHexString("18FFFFFFFFFFFFFFFFFF7F");

        WireMessage.Parse<IPAllocationMetadata>(bytes).DeviceNumber.Should().Be(-1);
        VpcCni.Hosting.Rpc.IPAllocationMetadata.Parser.ParseFrom(bytes).DeviceNumber.Should().Be(-1);
    }

    [Fact]
    public void Parse_RandomAndMutatedBytes_ReadAsTheGeneratedParserReadsThemOrRefusedWithProtoWireException()
    {
        var cases = WireCase.All.Values.ToArray();
        var parts = Gen.OneOf(
            Gen.OneOf(cases.Select(c => c.FullBytes()).ToArray()),
            Gen.OneOf(cases.Select(c => WireCodecDifferentialTests.UnknownFields(c.UnusedFields)).ToArray()),
            Gen.Byte.Array[0, 16]);
        var inputs = Gen.Select(Gen.Int[0, cases.Length - 1], MutatedBytes.Of(parts, maxParts: 4));
        var accepted = 0;
        var refused = 0;

        inputs.Sample((index, bytes) =>
        {
            if (cases[index].AssertSameOutcome(bytes))
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }, iter: 3000, threads: 1, seed: Seed);

        (accepted, refused).Should().Match<(int Accepted, int Refused)>(o => o.Accepted > 100 && o.Refused > 100, "the inputs must exercise both outcomes");
    }
}
