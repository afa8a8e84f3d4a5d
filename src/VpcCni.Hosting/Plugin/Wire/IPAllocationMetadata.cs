namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.IPAllocationMetadata (Protos/rpc.proto): one address of a reply. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record IPAllocationMetadata : IWireMessage<IPAllocationMetadata>
{
    public string IPv4Addr { get; init; } = "";

    public string IPv6Addr { get; init; } = "";

    public int DeviceNumber { get; init; }

    public int RouteTableId { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, IPv4Addr);
        writer.WriteString(2, IPv6Addr);
        writer.WriteInt32(3, DeviceNumber);
        writer.WriteInt32(4, RouteTableId);
    }

    public static IPAllocationMetadata Read(ReadOnlySpan<byte> data, IPAllocationMetadata? into = null)
    {
        var message = into ?? new IPAllocationMetadata();
        var iPv4AddrValue = message.IPv4Addr;
        var iPv6AddrValue = message.IPv6Addr;
        var deviceNumberValue = message.DeviceNumber;
        var routeTableIdValue = message.RouteTableId;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    iPv4AddrValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    iPv6AddrValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    deviceNumberValue = reader.ReadInt32();
                    break;
                case (4, ProtoWireType.Varint):
                    routeTableIdValue = reader.ReadInt32();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new IPAllocationMetadata
        {
            IPv4Addr = iPv4AddrValue,
            IPv6Addr = iPv6AddrValue,
            DeviceNumber = deviceNumberValue,
            RouteTableId = routeTableIdValue,
        };
    }
}
