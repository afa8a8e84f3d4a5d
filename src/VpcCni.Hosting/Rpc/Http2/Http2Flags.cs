namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Frame flags (RFC 9113 §6); their meaning depends on the frame type, so ACK and END_STREAM share a bit.</summary>
internal static class Http2Flags
{
    public const byte None = 0x0;
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}
