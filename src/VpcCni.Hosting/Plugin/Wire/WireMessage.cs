namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>Whole-message entry points of the codec.</summary>
internal static class WireMessage
{
    public static byte[] ToBytes<T>(T message)
        where T : class, IWireMessage<T>
    {
        var writer = new ProtoWriter();
        message.WriteTo(writer);
        return writer.ToArray();
    }

    /// <exception cref="ProtoWireException">The bytes are not a protobuf message.</exception>
    public static T Parse<T>(ReadOnlySpan<byte> data)
        where T : class, IWireMessage<T> => T.Read(data);
}
