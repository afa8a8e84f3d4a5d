namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.RemoveHostVethRequest (Protos/vpccni.proto): the host veth's deletion handed to the daemon. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record RemoveHostVethRequest : IWireMessage<RemoveHostVethRequest>
{
    public int IfIndex { get; init; }

    public string Name { get; init; } = "";

    public ulong NamespaceDevice { get; init; }

    public ulong NamespaceInode { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteInt32(1, IfIndex);
        writer.WriteString(2, Name);
        writer.WriteUInt64(3, NamespaceDevice);
        writer.WriteUInt64(4, NamespaceInode);
    }

    public static RemoveHostVethRequest Read(ReadOnlySpan<byte> data, RemoveHostVethRequest? into = null)
    {
        var message = into ?? new RemoveHostVethRequest();
        var ifIndexValue = message.IfIndex;
        var nameValue = message.Name;
        var namespaceDeviceValue = message.NamespaceDevice;
        var namespaceInodeValue = message.NamespaceInode;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    ifIndexValue = reader.ReadInt32();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    nameValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    namespaceDeviceValue = reader.ReadUInt64();
                    break;
                case (4, ProtoWireType.Varint):
                    namespaceInodeValue = reader.ReadUInt64();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new RemoveHostVethRequest
        {
            IfIndex = ifIndexValue,
            Name = nameValue,
            NamespaceDevice = namespaceDeviceValue,
            NamespaceInode = namespaceInodeValue,
        };
    }
}
