namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.AddNetworkReply (Protos/rpc.proto): the address assigned (or why not). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record AddNetworkReply : IWireMessage<AddNetworkReply>
{
    public bool Success { get; init; }

    public IReadOnlyList<IPAllocationMetadata> IPAllocationMetadata { get; init; } = [];

    public bool UseExternalSNAT { get; init; }

    public IReadOnlyList<string> VPCv4CIDRs { get; init; } = [];

    public IReadOnlyList<string> VPCv6CIDRs { get; init; } = [];

    public int PodVlanId { get; init; }

    public string PodENIMAC { get; init; } = "";

    public string PodENISubnetGW { get; init; } = "";

    public int ParentIfIndex { get; init; }

    public string NetworkPolicyMode { get; init; } = "";

    public string FailureReason { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Success);
        writer.WriteRepeatedMessage(2, IPAllocationMetadata);
        writer.WriteBool(5, UseExternalSNAT);
        writer.WriteRepeatedString(6, VPCv4CIDRs);
        writer.WriteInt32(7, PodVlanId);
        writer.WriteString(8, PodENIMAC);
        writer.WriteString(9, PodENISubnetGW);
        writer.WriteInt32(10, ParentIfIndex);
        writer.WriteRepeatedString(12, VPCv6CIDRs);
        writer.WriteString(13, NetworkPolicyMode);
        writer.WriteString(1001, FailureReason);
    }

    public static AddNetworkReply Read(ReadOnlySpan<byte> data, AddNetworkReply? into = null)
    {
        var message = into ?? new AddNetworkReply();
        var successValue = message.Success;
        List<IPAllocationMetadata>? iPAllocationMetadataValue = null;
        var useExternalSNATValue = message.UseExternalSNAT;
        List<string>? vPCv4CIDRsValue = null;
        List<string>? vPCv6CIDRsValue = null;
        var podVlanIdValue = message.PodVlanId;
        var podENIMACValue = message.PodENIMAC;
        var podENISubnetGWValue = message.PodENISubnetGW;
        var parentIfIndexValue = message.ParentIfIndex;
        var networkPolicyModeValue = message.NetworkPolicyMode;
        var failureReasonValue = message.FailureReason;
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
                case (5, ProtoWireType.Varint):
                    useExternalSNATValue = reader.ReadBool();
                    break;
                case (6, ProtoWireType.LengthDelimited):
                    (vPCv4CIDRsValue ??= [.. message.VPCv4CIDRs]).Add(reader.ReadString());
                    break;
                case (7, ProtoWireType.Varint):
                    podVlanIdValue = reader.ReadInt32();
                    break;
                case (8, ProtoWireType.LengthDelimited):
                    podENIMACValue = reader.ReadString();
                    break;
                case (9, ProtoWireType.LengthDelimited):
                    podENISubnetGWValue = reader.ReadString();
                    break;
                case (10, ProtoWireType.Varint):
                    parentIfIndexValue = reader.ReadInt32();
                    break;
                case (12, ProtoWireType.LengthDelimited):
                    (vPCv6CIDRsValue ??= [.. message.VPCv6CIDRs]).Add(reader.ReadString());
                    break;
                case (13, ProtoWireType.LengthDelimited):
                    networkPolicyModeValue = reader.ReadString();
                    break;
                case (1001, ProtoWireType.LengthDelimited):
                    failureReasonValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new AddNetworkReply
        {
            Success = successValue,
            IPAllocationMetadata = iPAllocationMetadataValue ?? message.IPAllocationMetadata,
            UseExternalSNAT = useExternalSNATValue,
            VPCv4CIDRs = vPCv4CIDRsValue ?? message.VPCv4CIDRs,
            VPCv6CIDRs = vPCv6CIDRsValue ?? message.VPCv6CIDRs,
            PodVlanId = podVlanIdValue,
            PodENIMAC = podENIMACValue,
            PodENISubnetGW = podENISubnetGWValue,
            ParentIfIndex = parentIfIndexValue,
            NetworkPolicyMode = networkPolicyModeValue,
            FailureReason = failureReasonValue,
        };
    }
}
