namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GetAttachmentRequest (Protos/vpccni.proto): CHECK's question. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GetAttachmentRequest : IWireMessage<GetAttachmentRequest>
{
    public string NetworkName { get; init; } = "";

    public string ContainerID { get; init; } = "";

    public string IfName { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, NetworkName);
        writer.WriteString(2, ContainerID);
        writer.WriteString(3, IfName);
    }

    public static GetAttachmentRequest Read(ReadOnlySpan<byte> data, GetAttachmentRequest? into = null)
    {
        var message = into ?? new GetAttachmentRequest();
        var networkNameValue = message.NetworkName;
        var containerIDValue = message.ContainerID;
        var ifNameValue = message.IfName;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    networkNameValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    containerIDValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.LengthDelimited):
                    ifNameValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new GetAttachmentRequest
        {
            NetworkName = networkNameValue,
            ContainerID = containerIDValue,
            IfName = ifNameValue,
        };
    }
}
