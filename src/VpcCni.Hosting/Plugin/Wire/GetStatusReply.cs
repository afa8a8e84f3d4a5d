namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GetStatusReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GetStatusReply : IWireMessage<GetStatusReply>
{
    public bool Ready { get; init; }

    public string Reason { get; init; } = "";

    public int AvailableIPs { get; init; }

    public int AssignedIPs { get; init; }

    public bool CanGrow { get; init; }

    public bool LimitedConnectivity { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Ready);
        writer.WriteString(2, Reason);
        writer.WriteInt32(3, AvailableIPs);
        writer.WriteInt32(4, AssignedIPs);
        writer.WriteBool(5, CanGrow);
        writer.WriteBool(6, LimitedConnectivity);
    }

    public static GetStatusReply Read(ReadOnlySpan<byte> data, GetStatusReply? into = null)
    {
        var message = into ?? new GetStatusReply();
        var readyValue = message.Ready;
        var reasonValue = message.Reason;
        var availableIPsValue = message.AvailableIPs;
        var assignedIPsValue = message.AssignedIPs;
        var canGrowValue = message.CanGrow;
        var limitedConnectivityValue = message.LimitedConnectivity;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    readyValue = reader.ReadBool();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    reasonValue = reader.ReadString();
                    break;
                case (3, ProtoWireType.Varint):
                    availableIPsValue = reader.ReadInt32();
                    break;
                case (4, ProtoWireType.Varint):
                    assignedIPsValue = reader.ReadInt32();
                    break;
                case (5, ProtoWireType.Varint):
                    canGrowValue = reader.ReadBool();
                    break;
                case (6, ProtoWireType.Varint):
                    limitedConnectivityValue = reader.ReadBool();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new GetStatusReply
        {
            Ready = readyValue,
            Reason = reasonValue,
            AvailableIPs = availableIPsValue,
            AssignedIPs = assignedIPsValue,
            CanGrow = canGrowValue,
            LimitedConnectivity = limitedConnectivityValue,
        };
    }
}
