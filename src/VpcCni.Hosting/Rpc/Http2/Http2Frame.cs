namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>One decoded frame; the payload points into the caller's buffer and is valid as long as that buffer is.</summary>
internal readonly ref struct Http2Frame(Http2FrameType type, byte flags, int stream, ReadOnlySpan<byte> payload)
{
    public Http2FrameType Type { get; } = type;

    public byte Flags { get; } = flags;

    public int Stream { get; } = stream;

    public ReadOnlySpan<byte> Payload { get; } = payload;

    public bool HasFlag(byte flag) => (Flags & flag) != 0;
}
