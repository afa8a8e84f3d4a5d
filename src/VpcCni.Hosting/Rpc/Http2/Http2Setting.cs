namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>One SETTINGS parameter (RFC 9113 §6.5.2); unknown identifiers are carried and ignored.</summary>
internal readonly record struct Http2Setting(ushort Id, uint Value)
{
    public const ushort HeaderTableSize = 0x1;
    public const ushort EnablePush = 0x2;
    public const ushort MaxConcurrentStreams = 0x3;
    public const ushort InitialWindowSize = 0x4;
    public const ushort MaxFrameSize = 0x5;
    public const ushort MaxHeaderListSize = 0x6;
}
