namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.RemoveHostVethReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record RemoveHostVethReply : IWireMessage<RemoveHostVethReply>
{
    public bool Removed { get; init; }

    public string Reason { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Removed);
        writer.WriteString(2, Reason);
    }

    public static RemoveHostVethReply Read(ReadOnlySpan<byte> data, RemoveHostVethReply? into = null)
    {
        var message = into ?? new RemoveHostVethReply();
        var removedValue = message.Removed;
        var reasonValue = message.Reason;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    removedValue = reader.ReadBool();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    reasonValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new RemoveHostVethReply
        {
            Removed = removedValue,
            Reason = reasonValue,
        };
    }
}
