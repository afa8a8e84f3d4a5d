using Google.Protobuf;
using VpcCni.Hosting.Plugin.Wire;
using Generated = VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Tests.Plugin.Wire;

/// <summary>
/// The plugin's hand-written protobuf codec against the code protoc generates from the same .proto files (what the
/// daemon and, byte for byte, upstream's Go ipamd speak): each message both ways, with every field set, with defaults,
/// and with fields the message does not know.
/// </summary>
public sealed class WireCodecDifferentialTests
{
    public static TheoryData<string> Messages => [.. WireCase.All.Keys];

    [Theory]
    [MemberData(nameof(Messages))]
    public void ToBytes_EveryFieldSet_GeneratedParsesItAndWritesTheSameBytesAndOursReadsThem(string message) =>
        WireCase.All[message].AssertRoundTrips(allFieldsSet: true);

    [Theory]
    [MemberData(nameof(Messages))]
    public void ToBytes_Defaults_NothingWrittenAndBothReadTheEmptyMessage(string message) =>
        WireCase.All[message].AssertRoundTrips(allFieldsSet: false);

    [Theory]
    [MemberData(nameof(Messages))]
    public void Parse_UnknownFieldsOfEveryWireTypeAroundTheKnownOnes_SkippedAsTheGeneratedParserSkipsThem(string message)
    {
        var unused = WireCase.All[message].UnusedFields;
        var unknown = UnknownFields(unused);

        WireCase.All[message].AssertReadsAsGenerated(known => [.. unknown, .. known, .. unknown]);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Parse_KnownFieldNumbersWithAnotherWireType_SkippedAsUnknownLikeTheGeneratedParser(string message)
    {
        // Every field number the messages use, as a fixed32 and a fixed64: no field of theirs has these wire types, so
        // both parsers must skip them rather than read them into the field of that number.
        var writer = new ProtoWriter();
        foreach (var field in Enumerable.Range(1, 13).Append(1001))
        {
            writer.WriteTag(field, ProtoWireType.Fixed32);
            writer.WriteVarint(0); // not a varint: four raw octets follow
            writer.WriteVarint(0);
            writer.WriteVarint(0);
            writer.WriteVarint(0);
            writer.WriteTag(field, ProtoWireType.Fixed64);
            for (var i = 0; i < 8; i++)
            {
                writer.WriteVarint(0x11);
            }
        }

        var odd = writer.ToArray();
        WireCase.All[message].AssertReadsAsGenerated(known => [.. known, .. odd]);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Parse_MessageSentTwice_MergedAsProtobufMerges(string message) =>
        WireCase.All[message].AssertReadsAsGenerated(known => [.. known, .. known]);

    [Fact]
    public void Parse_UnknownFieldsInsideASubMessage_SkippedThere()
    {
        var inner = new Generated.AddNetworkReply { Success = true, FailureReason = "none", IPAllocationMetadata = { new Generated.IPAllocationMetadata { IPv4Addr = "10.0.0.9", RouteTableId = 3 } } };
        var writer = new ProtoWriter();
        writer.WriteInt32(1, (int)PodWiringOutcome.PodWiringDone);
        writer.WriteBytes(2, [.. UnknownFields([900, 901, 902, 903, 904]), .. inner.ToByteArray(), .. UnknownFields([905, 906, 907, 908, 909])]);
        writer.WriteString(4, "eni1");

        var read = WireMessage.Parse<AddPodNetworkReply>(writer.WrittenSpan);

        read.Outcome.Should().Be(PodWiringOutcome.PodWiringDone);
        read.HostVethName.Should().Be("eni1");
        WireSamples.ToGenerated(read.Reply!).Should().Be(inner);
    }

    [Fact]
    public void Parse_EnumValueThisPluginDoesNotKnow_KeptAsItsNumber()
    {
        var bytes = new Generated.AddPodNetworkReply { Outcome = (Generated.PodWiringOutcome)7 }.ToByteArray();

        WireMessage.Parse<AddPodNetworkReply>(bytes).Outcome.Should().Be((PodWiringOutcome)7);
    }

    [Fact]
    public void ToBytes_NegativeInt32_TenOctetsAsProtobufSignExtendsThem()
    {
        var bytes = WireMessage.ToBytes(new EnforceNpRequest { InterfaceCount = -1 });

        bytes.Should().Equal(0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
        Generated.EnforceNpRequest.Parser.ParseFrom(bytes).InterfaceCount.Should().Be(-1);
    }

    [Fact]
    public void ToBytes_SetSubMessageWithOnlyDefaults_WrittenEmptyNotLeftOut()
    {
        var bytes = WireMessage.ToBytes(new AddPodNetworkRequest { Add = new AddNetworkRequest() });

        bytes.Should().Equal(0x0A, 0x00);
        Generated.AddPodNetworkRequest.Parser.ParseFrom(bytes).Add.Should().NotBeNull("presence of a sub-message is its meaning");
    }

    /// <summary>One field of each wire type (varint, fixed64, length-delimited, group with a nested field, fixed32).</summary>
    internal static byte[] UnknownFields(IReadOnlyList<int> numbers)
    {
        var writer = new ProtoWriter();
        writer.WriteTag(numbers[0], ProtoWireType.Varint);
        writer.WriteVarint(ulong.MaxValue);
        writer.WriteTag(numbers[1], ProtoWireType.Fixed64);
        for (var i = 0; i < 8; i++)
        {
            writer.WriteVarint(0x7F);
        }

        writer.WriteBytes(numbers[2], "unknown bytes"u8);
        writer.WriteTag(numbers[3], ProtoWireType.StartGroup);
        writer.WriteTag(1, ProtoWireType.Varint);
        writer.WriteVarint(5);
        writer.WriteTag(2, ProtoWireType.StartGroup);
        writer.WriteTag(2, ProtoWireType.EndGroup);
        writer.WriteTag(numbers[3], ProtoWireType.EndGroup);
        writer.WriteTag(numbers[4], ProtoWireType.Fixed32);
        for (var i = 0; i < 4; i++)
        {
            writer.WriteVarint(0x01);
        }

        return writer.ToArray();
    }
}
