namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.GetStatusRequest (Protos/vpccni.proto): STATUS's question; no fields. Field numbers and types are the .proto's; names are upstream's.</summary>
internal sealed record GetStatusRequest : IWireMessage<GetStatusRequest>
{
    public void WriteTo(ProtoWriter writer)
    {
    }

    public static GetStatusRequest Read(ReadOnlySpan<byte> data, GetStatusRequest? into = null)
    {
        var reader = new ProtoReader(data);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            reader.SkipField(field, wireType);
        }

        return into ?? new GetStatusRequest();
    }
}
