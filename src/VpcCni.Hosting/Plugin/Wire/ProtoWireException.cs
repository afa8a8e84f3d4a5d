namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>Bytes that are not a protobuf message (truncated, an invalid tag, varint or wire type, a string that is not UTF-8).</summary>
internal sealed class ProtoWireException : Exception
{
    public ProtoWireException()
        : this("malformed protobuf message")
    {
    }

    public ProtoWireException(string message)
        : base(message)
    {
    }

    public ProtoWireException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
