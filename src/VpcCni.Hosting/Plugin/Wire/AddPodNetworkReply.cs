namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.AddPodNetworkReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record AddPodNetworkReply : IWireMessage<AddPodNetworkReply>
{
    public PodWiringOutcome Outcome { get; init; }

    public AddNetworkReply? Reply { get; init; }

    public string Detail { get; init; } = "";

    public string HostVethName { get; init; } = "";

    public ReadOnlyMemory<byte> HostVethMac { get; init; }

    public ReadOnlyMemory<byte> ContainerMac { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteInt32(1, (int)Outcome);
        writer.WriteMessage(2, Reply);
        writer.WriteString(3, Detail);
        writer.WriteString(4, HostVethName);
        writer.WriteBytes(5, HostVethMac.Span);
        writer.WriteBytes(6, ContainerMac.Span);
    }

    public static AddPodNetworkReply Read(ReadOnlySpan<byte> data, AddPodNetworkReply? into = null)
    {
        var message = into ?? new AddPodNetworkReply();
        var outcomeValue = message.Outcome;
        var replyValue = message.Reply;
        var detailValue = message.Detail;
        var hostVethNameValue = message.HostVethName;
        var hostVethMacValue = message.HostVethMac;
        var containerMacValue = message.ContainerMac;
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
                case (4, ProtoWireType.LengthDelimited):
                    hostVethNameValue = reader.ReadString();
                    break;
                case (5, ProtoWireType.LengthDelimited):
                    hostVethMacValue = reader.ReadBytes();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    containerMacValue = reader.ReadBytes();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new AddPodNetworkReply
        {
            Outcome = outcomeValue,
            Reply = replyValue,
            Detail = detailValue,
            HostVethName = hostVethNameValue,
            HostVethMac = hostVethMacValue,
            ContainerMac = containerMacValue,
        };
    }
}
