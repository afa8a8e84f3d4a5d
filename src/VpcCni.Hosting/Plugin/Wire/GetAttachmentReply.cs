namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GetAttachmentReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GetAttachmentReply : IWireMessage<GetAttachmentReply>
{
    public bool Found { get; init; }

    public string IPv4Addr { get; init; } = "";

    public int DeviceNumber { get; init; }

    public int RouteTableId { get; init; }

    public string PodNamespace { get; init; } = "";

    public string PodName { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Found);
        writer.WriteString(2, IPv4Addr);
        writer.WriteInt32(3, DeviceNumber);
        writer.WriteInt32(4, RouteTableId);
        writer.WriteString(5, PodNamespace);
        writer.WriteString(6, PodName);
    }

    public static GetAttachmentReply Read(ReadOnlySpan<byte> data, GetAttachmentReply? into = null)
    {
        var message = into ?? new GetAttachmentReply();
        var foundValue = message.Found;
        var iPv4AddrValue = message.IPv4Addr;
        var deviceNumberValue = message.DeviceNumber;
        var routeTableIdValue = message.RouteTableId;
        var podNamespaceValue = message.PodNamespace;
        var podNameValue = message.PodName;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    foundValue = reader.ReadBool();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    iPv4AddrValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    deviceNumberValue = reader.ReadInt32();
                    break;
                case (4, ProtoWireType.Varint):
                    routeTableIdValue = reader.ReadInt32();
                    break;
                case (5, ProtoWireType.LengthDelimited):
                    podNamespaceValue = reader.ReadString();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    podNameValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new GetAttachmentReply
        {
            Found = foundValue,
            IPv4Addr = iPv4AddrValue,
            DeviceNumber = deviceNumberValue,
            RouteTableId = routeTableIdValue,
            PodNamespace = podNamespaceValue,
            PodName = podNameValue,
        };
    }
}
