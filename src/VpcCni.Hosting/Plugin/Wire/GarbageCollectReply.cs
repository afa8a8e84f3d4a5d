namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GarbageCollectReply (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GarbageCollectReply : IWireMessage<GarbageCollectReply>
{
    public IReadOnlyList<ReleasedAttachment> Released { get; init; } = [];

    public IReadOnlyList<string> Errors { get; init; } = [];

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteRepeatedMessage(1, Released);
        writer.WriteRepeatedString(2, Errors);
    }

    public static GarbageCollectReply Read(ReadOnlySpan<byte> data, GarbageCollectReply? into = null)
    {
        var message = into ?? new GarbageCollectReply();
        List<ReleasedAttachment>? releasedValue = null;
        List<string>? errorsValue = null;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    (releasedValue ??= [.. message.Released]).Add(reader.ReadMessage<ReleasedAttachment>(null));
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    (errorsValue ??= [.. message.Errors]).Add(reader.ReadString());
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new GarbageCollectReply
        {
            Released = releasedValue ?? message.Released,
            Errors = errorsValue ?? message.Errors,
        };
    }
}
