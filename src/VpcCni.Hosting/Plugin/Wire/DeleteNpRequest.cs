namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.DeleteNpRequest (Protos/rpc.proto): DEL's call to the network policy agent. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DeleteNpRequest : IWireMessage<DeleteNpRequest>
{
    public string K8SPODNAME { get; init; } = "";

    public string K8SPODNAMESPACE { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, K8SPODNAME);
        writer.WriteString(2, K8SPODNAMESPACE);
    }

    public static DeleteNpRequest Read(ReadOnlySpan<byte> data, DeleteNpRequest? into = null)
    {
        var message = into ?? new DeleteNpRequest();
        var k8SPODNAMEValue = message.K8SPODNAME;
        var k8SPODNAMESPACEValue = message.K8SPODNAMESPACE;
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
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new DeleteNpRequest
        {
            K8SPODNAME = k8SPODNAMEValue,
            K8SPODNAMESPACE = k8SPODNAMESPACEValue,
        };
    }
}
