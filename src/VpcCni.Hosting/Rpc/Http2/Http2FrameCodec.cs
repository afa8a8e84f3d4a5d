using System.Buffers;
using System.Buffers.Binary;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// The HTTP/2 frame layer without I/O (RFC 9113 §4, §6): decodes frames from a buffer, checks each type's stream and
/// length rules, reads the payloads of DATA, HEADERS, CONTINUATION, SETTINGS, WINDOW_UPDATE, PING, GOAWAY and
/// RST_STREAM, and writes the same frames into a buffer writer. Every violation is an
/// <see cref="Http2ProtocolException"/> carrying the RFC's error code; nothing else escapes a decode.
/// </summary>
internal static class Http2FrameCodec
{
    public const int HeaderLength = 9;
    public const int DefaultMaxFrameSize = 16_384;
    public const int MaxFrameSizeLimit = 16_777_215;
    public const int DefaultWindow = 65_535;
    public const int MaxWindow = int.MaxValue;

    /// <summary>The client connection preface (RFC 9113 §3.4), sent before the first SETTINGS.</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Decodes the frame at the start of <paramref name="buffer"/>. False when the buffer does not hold all of it yet
    /// (<paramref name="needed"/> says how many octets the frame has, or <see cref="HeaderLength"/> while the header
    /// is incomplete). A declared length above <paramref name="maxFrameSize"/> is a FRAME_SIZE_ERROR.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> buffer, int maxFrameSize, out Http2Frame frame, out int needed)
    {
        frame = default;
        if (buffer.Length < HeaderLength)
        {
            needed = HeaderLength;
            return false;
        }

        var length = (buffer[0] << 16) | (buffer[1] << 8) | buffer[2];
        if (length > maxFrameSize)
        {
            throw new Http2ProtocolException($"frame of {length} octets exceeds the maximum frame size {maxFrameSize}", Http2ErrorCode.FrameSizeError);
        }

        needed = HeaderLength + length;
        if (buffer.Length < needed)
        {
            return false;
        }

        // The reserved bit of the stream identifier is ignored on receipt (RFC 9113 §4.1).
        var stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(buffer[5..]) & 0x7FFF_FFFF);
        frame = new Http2Frame((Http2FrameType)buffer[3], buffer[4], stream, buffer.Slice(HeaderLength, length));
        return true;
    }

    /// <summary>The stream and fixed-length rules of every known frame type (RFC 9113 §6); all are connection errors here.</summary>
    public static void Validate(Http2Frame frame)
    {
        var length = frame.Payload.Length;
        switch (frame.Type)
        {
            case Http2FrameType.Data or Http2FrameType.Headers or Http2FrameType.Priority or Http2FrameType.RstStream
                or Http2FrameType.PushPromise or Http2FrameType.Continuation when frame.Stream == 0:
                throw new Http2ProtocolException($"{frame.Type} on stream 0");
            case Http2FrameType.Settings or Http2FrameType.Ping or Http2FrameType.GoAway when frame.Stream != 0:
                throw new Http2ProtocolException($"{frame.Type} on stream {frame.Stream}, must be on stream 0");
            case Http2FrameType.RstStream when length != 4:
                throw new Http2ProtocolException($"RST_STREAM payload of {length} octets, must be 4", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.Priority when length != 5:
                throw new Http2ProtocolException($"PRIORITY payload of {length} octets, must be 5", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.Ping when length != 8:
                throw new Http2ProtocolException($"PING payload of {length} octets, must be 8", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.WindowUpdate when length != 4:
                throw new Http2ProtocolException($"WINDOW_UPDATE payload of {length} octets, must be 4", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.Settings when frame.HasFlag(Http2Flags.Ack) && length != 0:
                throw new Http2ProtocolException("SETTINGS acknowledgement with a payload", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.Settings when length % 6 != 0:
                throw new Http2ProtocolException($"SETTINGS payload of {length} octets, not a multiple of 6", Http2ErrorCode.FrameSizeError);
            case Http2FrameType.GoAway when length < 8:
                throw new Http2ProtocolException($"GOAWAY payload of {length} octets, must be at least 8", Http2ErrorCode.FrameSizeError);
        }
    }

    /// <summary>A DATA frame's data without its padding.</summary>
    public static ReadOnlySpan<byte> DataPayload(Http2Frame frame) => StripPadding(frame.Flags, frame.Payload);

    /// <summary>A HEADERS or CONTINUATION frame's header block fragment, without padding and priority fields.</summary>
    public static ReadOnlySpan<byte> HeaderBlockFragment(Http2Frame frame)
    {
        if (frame.Type == Http2FrameType.Continuation)
        {
            return frame.Payload;
        }

        var fragment = StripPadding(frame.Flags, frame.Payload);
        if (frame.HasFlag(Http2Flags.Priority))
        {
            if (fragment.Length < 5)
            {
                throw new Http2ProtocolException("HEADERS priority fields truncated", Http2ErrorCode.FrameSizeError);
            }

            fragment = fragment[5..];
        }

        return fragment;
    }

    /// <summary>The parameters of a (validated) SETTINGS frame, with the value range rules of RFC 9113 §6.5.2.</summary>
    public static List<Http2Setting> Settings(ReadOnlySpan<byte> payload)
    {
        var settings = new List<Http2Setting>(payload.Length / 6);
        for (var i = 0; i + 6 <= payload.Length; i += 6)
        {
            var setting = new Http2Setting(BinaryPrimitives.ReadUInt16BigEndian(payload[i..]), BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]));
            switch (setting.Id)
            {
                case Http2Setting.EnablePush when setting.Value > 1:
                    throw new Http2ProtocolException($"SETTINGS_ENABLE_PUSH of {setting.Value}");
                case Http2Setting.InitialWindowSize when setting.Value > MaxWindow:
                    throw new Http2ProtocolException("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", Http2ErrorCode.FlowControlError);
                case Http2Setting.MaxFrameSize when setting.Value is < DefaultMaxFrameSize or > MaxFrameSizeLimit:
                    throw new Http2ProtocolException($"SETTINGS_MAX_FRAME_SIZE of {setting.Value} out of range");
            }

            settings.Add(setting);
        }

        return settings;
    }

    /// <summary>A (validated) WINDOW_UPDATE's increment; 0 is a PROTOCOL_ERROR.</summary>
    public static int WindowIncrement(ReadOnlySpan<byte> payload)
    {
        var increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
        return increment > 0 ? increment : throw new Http2ProtocolException("WINDOW_UPDATE with an increment of 0");
    }

    /// <summary>A (validated) RST_STREAM's error code.</summary>
    public static Http2ErrorCode RstStreamCode(ReadOnlySpan<byte> payload) => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(payload);

    /// <summary>A (validated) GOAWAY's last processed stream and error code; the debug data is ignored.</summary>
    public static (int LastStreamId, Http2ErrorCode ErrorCode) GoAway(ReadOnlySpan<byte> payload) =>
        ((int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF), (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(payload[4..]));

    public static void WriteFrameHeader(IBufferWriter<byte> output, int length, Http2FrameType type, byte flags, int stream)
    {
        var span = output.GetSpan(HeaderLength);
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = (byte)type;
        span[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(span[5..], stream & 0x7FFF_FFFF);
        output.Advance(HeaderLength);
    }

    public static void WriteFrame(IBufferWriter<byte> output, Http2FrameType type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        WriteFrameHeader(output, payload.Length, type, flags, stream);
        output.Write(payload);
    }

    public static void WriteData(IBufferWriter<byte> output, int stream, ReadOnlySpan<byte> data, bool endStream) =>
        WriteFrame(output, Http2FrameType.Data, endStream ? Http2Flags.EndStream : Http2Flags.None, stream, data);

    /// <summary>A header block as one HEADERS frame and as many CONTINUATION frames as the peer's maximum frame size needs.</summary>
    public static void WriteHeaders(IBufferWriter<byte> output, int stream, ReadOnlySpan<byte> block, bool endStream, int maxFrameSize)
    {
        var first = Math.Min(block.Length, maxFrameSize);
        var flags = (byte)((first == block.Length ? Http2Flags.EndHeaders : 0) | (endStream ? Http2Flags.EndStream : 0));
        WriteFrame(output, Http2FrameType.Headers, flags, stream, block[..first]);
        for (var offset = first; offset < block.Length;)
        {
            var chunk = Math.Min(block.Length - offset, maxFrameSize);
            WriteFrame(output, Http2FrameType.Continuation, offset + chunk == block.Length ? Http2Flags.EndHeaders : Http2Flags.None, stream, block.Slice(offset, chunk));
            offset += chunk;
        }
    }

    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<Http2Setting> settings)
    {
        WriteFrameHeader(output, settings.Length * 6, Http2FrameType.Settings, Http2Flags.None, 0);
        foreach (var setting in settings)
        {
            var span = output.GetSpan(6);
            BinaryPrimitives.WriteUInt16BigEndian(span, setting.Id);
            BinaryPrimitives.WriteUInt32BigEndian(span[2..], setting.Value);
            output.Advance(6);
        }
    }

    public static void WriteSettingsAck(IBufferWriter<byte> output) => WriteFrameHeader(output, 0, Http2FrameType.Settings, Http2Flags.Ack, 0);

    public static void WriteWindowUpdate(IBufferWriter<byte> output, int stream, int increment)
    {
        WriteFrameHeader(output, 4, Http2FrameType.WindowUpdate, Http2Flags.None, stream);
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), increment & 0x7FFF_FFFF);
        output.Advance(4);
    }

    public static void WritePing(IBufferWriter<byte> output, bool ack, ReadOnlySpan<byte> opaqueData)
    {
        if (opaqueData.Length != 8)
        {
            throw new ArgumentException("PING carries exactly 8 octets", nameof(opaqueData));
        }

        WriteFrame(output, Http2FrameType.Ping, ack ? Http2Flags.Ack : Http2Flags.None, 0, opaqueData);
    }

    public static void WriteRstStream(IBufferWriter<byte> output, int stream, Http2ErrorCode code)
    {
        WriteFrameHeader(output, 4, Http2FrameType.RstStream, Http2Flags.None, stream);
        BinaryPrimitives.WriteUInt32BigEndian(output.GetSpan(4), (uint)code);
        output.Advance(4);
    }

    public static void WriteGoAway(IBufferWriter<byte> output, int lastStreamId, Http2ErrorCode code)
    {
        WriteFrameHeader(output, 8, Http2FrameType.GoAway, Http2Flags.None, 0);
        var span = output.GetSpan(8);
        BinaryPrimitives.WriteInt32BigEndian(span, lastStreamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)code);
        output.Advance(8);
    }

    private static ReadOnlySpan<byte> StripPadding(byte flags, ReadOnlySpan<byte> payload)
    {
        if ((flags & Http2Flags.Padded) == 0)
        {
            return payload;
        }

        // The pad length octet counts against the frame: padding as long as the payload is a PROTOCOL_ERROR (§6.1).
        if (payload.Length < 1 || payload[0] >= payload.Length)
        {
            throw new Http2ProtocolException("padding longer than the frame");
        }

        return payload[1..(payload.Length - payload[0])];
    }
}
