namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>rpc.DeleteNpReply (Protos/rpc.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record DeleteNpReply : IWireMessage<DeleteNpReply>
{
    public bool Success { get; init; }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteBool(1, Success);
    }

    public static DeleteNpReply Read(ReadOnlySpan<byte> data, DeleteNpReply? into = null)
    {
        var message = into ?? new DeleteNpReply();
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

        return new DeleteNpReply
        {
            Success = successValue,
        };
    }
}
