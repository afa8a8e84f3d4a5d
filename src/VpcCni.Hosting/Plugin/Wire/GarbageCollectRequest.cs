namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GarbageCollectRequest (Protos/vpccni.proto). Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GarbageCollectRequest : IWireMessage<GarbageCollectRequest>
{
    public string NetworkName { get; init; } = "";

    public IReadOnlyList<Attachment> ValidAttachments { get; init; } = [];

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, NetworkName);
        writer.WriteRepeatedMessage(2, ValidAttachments);
    }

    public static GarbageCollectRequest Read(ReadOnlySpan<byte> data, GarbageCollectRequest? into = null)
    {
        var message = into ?? new GarbageCollectRequest();
        var networkNameValue = message.NetworkName;
        List<Attachment>? validAttachmentsValue = null;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    networkNameValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    (validAttachmentsValue ??= [.. message.ValidAttachments]).Add(reader.ReadMessage<Attachment>(null));
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new GarbageCollectRequest
        {
            NetworkName = networkNameValue,
            ValidAttachments = validAttachmentsValue ?? message.ValidAttachments,
        };
    }
}
