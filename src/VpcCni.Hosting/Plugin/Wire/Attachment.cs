namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.Attachment (Protos/vpccni.proto): one attachment GC must keep. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record Attachment : IWireMessage<Attachment>
{
    public string ContainerID { get; init; } = "";

    public string IfName { get; init; } = "";

    public void WriteTo(ProtoWriter writer)
    {
        writer.WriteString(1, ContainerID);
        writer.WriteString(2, IfName);
    }

    public static Attachment Read(ReadOnlySpan<byte> data, Attachment? into = null)
    {
        var message = into ?? new Attachment();
        var containerIDValue = message.ContainerID;
        var ifNameValue = message.IfName;
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch ((field, wireType))
            {
                case (1, ProtoWireType.LengthDelimited):
                    containerIDValue = reader.ReadString();
                    break;
                case (2, ProtoWireType.LengthDelimited):
                    ifNameValue = reader.ReadString();
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new Attachment
        {
            ContainerID = containerIDValue,
            IfName = ifNameValue,
        };
    }
}
