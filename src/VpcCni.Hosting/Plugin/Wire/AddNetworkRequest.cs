namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.AddNetworkRequest (Protos/rpc.proto): the classic ADD's request. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record AddNetworkRequest : IWireMessage<AddNetworkRequest>
{
    public string ClientVersion { get; init; } = "";

    public string K8SPODNAME { get; init; } = "";

    public string K8SPODNAMESPACE { get; init; } = "";

    public string K8SPODINFRACONTAINERID { get; init; } = "";

    public string Netns { get; init; } = "";

    public string IfName { get; init; } = "";

    public string NetworkName { get; init; } = "";

    public string ContainerID { get; init; } = "";

    public bool RequiresMultiNICAttachment { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, K8SPODNAME);
        writer.WriteString(2, K8SPODNAMESPACE);
        writer.WriteString(3, K8SPODINFRACONTAINERID);
        writer.WriteString(4, Netns);
        writer.WriteString(5, IfName);
        writer.WriteString(6, NetworkName);
        writer.WriteString(7, ContainerID);
        writer.WriteString(8, ClientVersion);
        writer.WriteBool(9, RequiresMultiNICAttachment);
    }

    public static AddNetworkRequest Read(ReadOnlySpan<byte> data, AddNetworkRequest? into = null)
    {
        var message = into ?? new AddNetworkRequest();
        var clientVersionValue = message.ClientVersion;
        var k8SPODNAMEValue = message.K8SPODNAME;
        var k8SPODNAMESPACEValue = message.K8SPODNAMESPACE;
        var k8SPODINFRACONTAINERIDValue = message.K8SPODINFRACONTAINERID;
        var netnsValue = message.Netns;
        var ifNameValue = message.IfName;
        var networkNameValue = message.NetworkName;
        var containerIDValue = message.ContainerID;
        var requiresMultiNICAttachmentValue = message.RequiresMultiNICAttachment;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    k8SPODNAMEValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    k8SPODNAMESPACEValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.LengthDelimited):
                    k8SPODINFRACONTAINERIDValue = reader.ReadString();
                    break;
                case (4, ProtoWireType.LengthDelimited):
                    netnsValue = reader.ReadString();
                    break;
                case (5, ProtoWireType.LengthDelimited):
                    ifNameValue = reader.ReadString();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    networkNameValue = reader.ReadString();
                    break;
                case (7, ProtoWireType.LengthDelimited):
                    containerIDValue = reader.ReadString();
                    break;
                case (8, ProtoWireType.LengthDelimited):
                    clientVersionValue = reader.ReadString();
                    break;
                case (9, ProtoWireType.Varint):
                    requiresMultiNICAttachmentValue = reader.ReadBool();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new AddNetworkRequest
        {
            ClientVersion = clientVersionValue,
            K8SPODNAME = k8SPODNAMEValue,
            K8SPODNAMESPACE = k8SPODNAMESPACEValue,
            K8SPODINFRACONTAINERID = k8SPODINFRACONTAINERIDValue,
            Netns = netnsValue,
            IfName = ifNameValue,
            NetworkName = networkNameValue,
            ContainerID = containerIDValue,
            RequiresMultiNICAttachment = requiresMultiNICAttachmentValue,
        };
    }
}
