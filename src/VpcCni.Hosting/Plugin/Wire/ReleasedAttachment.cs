namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.ReleasedAttachment (Protos/vpccni.proto): one attachment GC released. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record ReleasedAttachment : IWireMessage<ReleasedAttachment>
{
    public string ContainerID { get; init; } = "";

    public string IfName { get; init; } = "";

    public string IPv4Addr { get; init; } = "";

    public int RouteTableId { get; init; }

    public string PodNamespace { get; init; } = "";

    public string PodName { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, ContainerID);
        writer.WriteString(2, IfName);
        writer.WriteString(3, IPv4Addr);
        writer.WriteInt32(4, RouteTableId);
        writer.WriteString(5, PodNamespace);
        writer.WriteString(6, PodName);
    }

    public static ReleasedAttachment Read(ReadOnlySpan<byte> data, ReleasedAttachment? into = null)
    {
        var message = into ?? new ReleasedAttachment();
        var containerIDValue = message.ContainerID;
        var ifNameValue = message.IfName;
        var iPv4AddrValue = message.IPv4Addr;
        var routeTableIdValue = message.RouteTableId;
        var podNamespaceValue = message.PodNamespace;
        var podNameValue = message.PodName;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    containerIDValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    ifNameValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.LengthDelimited):
                    iPv4AddrValue = reader.ReadString();
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

        return new ReleasedAttachment
        {
            ContainerID = containerIDValue,
            IfName = ifNameValue,
            IPv4Addr = iPv4AddrValue,
            RouteTableId = routeTableIdValue,
            PodNamespace = podNamespaceValue,
            PodName = podNameValue,
        };
    }
}
