namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.DelPodNetworkRequest (Protos/vpccni.proto): DEL with the teardown done by the daemon. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DelPodNetworkRequest : IWireMessage<DelPodNetworkRequest>
{
    public DelNetworkRequest? Del { get; init; }

    public string VethPrefix { get; init; } = "";

    public int Mtu { get; init; }

    public string Netns { get; init; } = "";

    public ulong NetnsDevice { get; init; }

    public ulong NetnsInode { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteMessage(1, Del);
        writer.WriteString(2, VethPrefix);
        writer.WriteInt32(3, Mtu);
        writer.WriteString(4, Netns);
        writer.WriteUInt64(5, NetnsDevice);
        writer.WriteUInt64(6, NetnsInode);
    }

    public static DelPodNetworkRequest Read(ReadOnlySpan<byte> data, DelPodNetworkRequest? into = null)
    {
        var message = into ?? new DelPodNetworkRequest();
        var delValue = message.Del;
        var vethPrefixValue = message.VethPrefix;
        var mtuValue = message.Mtu;
        var netnsValue = message.Netns;
        var netnsDeviceValue = message.NetnsDevice;
        var netnsInodeValue = message.NetnsInode;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    delValue = reader.ReadMessage(delValue);
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    vethPrefixValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    mtuValue = reader.ReadInt32();
                    break;
                case (4, ProtoWireType.LengthDelimited):
                    netnsValue = reader.ReadString();
                    break;
                case (5, ProtoWireType.Varint):
                    netnsDeviceValue = reader.ReadUInt64();
                    break;
                case (6, ProtoWireType.Varint):
                    netnsInodeValue = reader.ReadUInt64();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new DelPodNetworkRequest
        {
            Del = delValue,
            VethPrefix = vethPrefixValue,
            Mtu = mtuValue,
            Netns = netnsValue,
            NetnsDevice = netnsDeviceValue,
            NetnsInode = netnsInodeValue,
        };
    }
}
