namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.DelNetworkRequest (Protos/rpc.proto): the classic DEL's request. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DelNetworkRequest : IWireMessage<DelNetworkRequest>
{
    public string ClientVersion { get; init; } = "";

    public string K8SPODNAME { get; init; } = "";

    public string K8SPODNAMESPACE { get; init; } = "";

    public string K8SPODINFRACONTAINERID { get; init; } = "";

    public string Reason { get; init; } = "";

    public string IfName { get; init; } = "";

    public string NetworkName { get; init; } = "";

    public string ContainerID { get; init; } = "";

    public string K8SPODUID { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, K8SPODNAME);
        writer.WriteString(2, K8SPODNAMESPACE);
        writer.WriteString(3, K8SPODINFRACONTAINERID);
        writer.WriteString(5, Reason);
        writer.WriteString(6, IfName);
        writer.WriteString(7, NetworkName);
        writer.WriteString(8, ContainerID);
        writer.WriteString(9, ClientVersion);
        writer.WriteString(10, K8SPODUID);
    }

    public static DelNetworkRequest Read(ReadOnlySpan<byte> data, DelNetworkRequest? into = null)
    {
        var message = into ?? new DelNetworkRequest();
        var clientVersionValue = message.ClientVersion;
        var k8SPODNAMEValue = message.K8SPODNAME;
        var k8SPODNAMESPACEValue = message.K8SPODNAMESPACE;
        var k8SPODINFRACONTAINERIDValue = message.K8SPODINFRACONTAINERID;
        var reasonValue = message.Reason;
        var ifNameValue = message.IfName;
        var networkNameValue = message.NetworkName;
        var containerIDValue = message.ContainerID;
        var k8SPODUIDValue = message.K8SPODUID;
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
                case (5, ProtoWireType.LengthDelimited):
                    reasonValue = reader.ReadString();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    ifNameValue = reader.ReadString();
                    break;
                case (7, ProtoWireType.LengthDelimited):
                    networkNameValue = reader.ReadString();
                    break;
                case (8, ProtoWireType.LengthDelimited):
                    containerIDValue = reader.ReadString();
                    break;
                case (9, ProtoWireType.LengthDelimited):
                    clientVersionValue = reader.ReadString();
                    break;
                case (10, ProtoWireType.LengthDelimited):
                    k8SPODUIDValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new DelNetworkRequest
        {
            ClientVersion = clientVersionValue,
            K8SPODNAME = k8SPODNAMEValue,
            K8SPODNAMESPACE = k8SPODNAMESPACEValue,
            K8SPODINFRACONTAINERID = k8SPODINFRACONTAINERIDValue,
            Reason = reasonValue,
            IfName = ifNameValue,
            NetworkName = networkNameValue,
            ContainerID = containerIDValue,
            K8SPODUID = k8SPODUIDValue,
        };
    }
}
