namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.EnforceNpRequest (Protos/rpc.proto): ADD's call to the network policy agent. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record EnforceNpRequest : IWireMessage<EnforceNpRequest>
{
    public string K8SPODNAME { get; init; } = "";

    public string K8SPODNAMESPACE { get; init; } = "";

    public string NETWORKPOLICYMODE { get; init; } = "";

    public int InterfaceCount { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, K8SPODNAME);
        writer.WriteString(2, K8SPODNAMESPACE);
        writer.WriteString(3, NETWORKPOLICYMODE);
        writer.WriteInt32(4, InterfaceCount);
    }

    public static EnforceNpRequest Read(ReadOnlySpan<byte> data, EnforceNpRequest? into = null)
    {
        var message = into ?? new EnforceNpRequest();
        var k8SPODNAMEValue = message.K8SPODNAME;
        var k8SPODNAMESPACEValue = message.K8SPODNAMESPACE;
        var nETWORKPOLICYMODEValue = message.NETWORKPOLICYMODE;
        var interfaceCountValue = message.InterfaceCount;
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
                    nETWORKPOLICYMODEValue = reader.ReadString();
                    break;
                case (4, ProtoWireType.Varint):
                    interfaceCountValue = reader.ReadInt32();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new EnforceNpRequest
        {
            K8SPODNAME = k8SPODNAMEValue,
            K8SPODNAMESPACE = k8SPODNAMESPACEValue,
            NETWORKPOLICYMODE = nETWORKPOLICYMODEValue,
            InterfaceCount = interfaceCountValue,
        };
    }
}
