namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.EnforceNpReply (Protos/rpc.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record EnforceNpReply : IWireMessage<EnforceNpReply>
{
    public bool Success { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Success);
    }

    public static EnforceNpReply Read(ReadOnlySpan<byte> data, EnforceNpReply? into = null)
    {
        var message = into ?? new EnforceNpReply();
        var successValue = message.Success;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.Varint):
                    successValue = reader.ReadBool();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new EnforceNpReply
        {
            Success = successValue,
        };
    }
}
