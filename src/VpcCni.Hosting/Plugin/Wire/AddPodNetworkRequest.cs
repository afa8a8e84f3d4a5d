namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.AddPodNetworkRequest (Protos/vpccni.proto): ADD with the wiring done by the daemon. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record AddPodNetworkRequest : IWireMessage<AddPodNetworkRequest>
{
    public AddNetworkRequest? Add { get; init; }

    public string VethPrefix { get; init; } = "";

    public int Mtu { get; init; }

    public ulong NetnsDevice { get; init; }

    public ulong NetnsInode { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteMessage(1, Add);
        writer.WriteString(2, VethPrefix);
        writer.WriteInt32(3, Mtu);
        writer.WriteUInt64(4, NetnsDevice);
        writer.WriteUInt64(5, NetnsInode);
    }

    public static AddPodNetworkRequest Read(ReadOnlySpan<byte> data, AddPodNetworkRequest? into = null)
    {
        var message = into ?? new AddPodNetworkRequest();
        var addValue = message.Add;
        var vethPrefixValue = message.VethPrefix;
        var mtuValue = message.Mtu;
        var netnsDeviceValue = message.NetnsDevice;
        var netnsInodeValue = message.NetnsInode;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    addValue = reader.ReadMessage(addValue);
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    vethPrefixValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    mtuValue = reader.ReadInt32();
                    break;
                case (4, ProtoWireType.Varint):
                    netnsDeviceValue = reader.ReadUInt64();
                    break;
                case (5, ProtoWireType.Varint):
                    netnsInodeValue = reader.ReadUInt64();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new AddPodNetworkRequest
        {
            Add = addValue,
            VethPrefix = vethPrefixValue,
            Mtu = mtuValue,
            NetnsDevice = netnsDeviceValue,
            NetnsInode = netnsInodeValue,
        };
    }
}
