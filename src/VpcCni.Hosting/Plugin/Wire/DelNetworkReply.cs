namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.DelNetworkReply (Protos/rpc.proto): the addresses released. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DelNetworkReply : IWireMessage<DelNetworkReply>
{
    public bool Success { get; init; }

    public IReadOnlyList<IPAllocationMetadata> IPAllocationMetadata { get; init; } = [];

    public int PodVlanId { get; init; }

    public string NetworkPolicyMode { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Success);
        writer.WriteRepeatedMessage(2, IPAllocationMetadata);
        writer.WriteInt32(4, PodVlanId);
        writer.WriteString(6, NetworkPolicyMode);
    }

    public static DelNetworkReply Read(ReadOnlySpan<byte> data, DelNetworkReply? into = null)
    {
        var message = into ?? new DelNetworkReply();
        var successValue = message.Success;
        List<IPAllocationMetadata>? iPAllocationMetadataValue = null;
        var podVlanIdValue = message.PodVlanId;
        var networkPolicyModeValue = message.NetworkPolicyMode;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    successValue = reader.ReadBool();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    (iPAllocationMetadataValue ??= [.. message.IPAllocationMetadata]).Add(reader.ReadMessage<IPAllocationMetadata>(null));
                    break;
                case (4, ProtoWireType.Varint):
                    podVlanIdValue = reader.ReadInt32();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    networkPolicyModeValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new DelNetworkReply
        {
            Success = successValue,
            IPAllocationMetadata = iPAllocationMetadataValue ?? message.IPAllocationMetadata,
            PodVlanId = podVlanIdValue,
            NetworkPolicyMode = networkPolicyModeValue,
        };
    }
}
