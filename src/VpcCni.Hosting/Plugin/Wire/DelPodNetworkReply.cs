namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.DelPodNetworkReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DelPodNetworkReply : IWireMessage<DelPodNetworkReply>
{
    public PodWiringOutcome Outcome { get; init; }

    public DelNetworkReply? Reply { get; init; }

    public string Detail { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteInt32(1, (int)Outcome);
        writer.WriteMessage(2, Reply);
        writer.WriteString(3, Detail);
    }

    public static DelPodNetworkReply Read(ReadOnlySpan<byte> data, DelPodNetworkReply? into = null)
    {
        var message = into ?? new DelPodNetworkReply();
        var outcomeValue = message.Outcome;
        var replyValue = message.Reply;
        var detailValue = message.Detail;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    outcomeValue = (PodWiringOutcome)reader.ReadInt32();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    replyValue = reader.ReadMessage(replyValue);
                    break;
                case (3, ProtoWireType.LengthDelimited):
                    detailValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new DelPodNetworkReply
        {
            Outcome = outcomeValue,
            Reply = replyValue,
            Detail = detailValue,
        };
    }
}
