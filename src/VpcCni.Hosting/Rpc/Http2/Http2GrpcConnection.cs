using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>What one unary call returned: gRPC status, the single response message (if any) and the metadata.</summary>
internal sealed record UnaryCallResult(Status Status, byte[]? Message, Metadata ResponseHeaders, Metadata Trailers);

/// <summary>One received frame; the payload points into the read buffer and is valid until the next read.</summary>
internal readonly ref struct Http2Frame(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
{
    public byte Type { get; } = type;

    public byte Flags { get; } = flags;

    public int Stream { get; } = stream;

    public ReadOnlySpan<byte> Payload { get; } = payload;
}

/// <summary>The peer broke HTTP/2 (RFC 9113) or gRPC framing; the connection cannot be used further.</summary>
internal sealed class Http2ProtocolException(string message) : Exception(message);

/// <summary>
/// One plaintext HTTP/2 connection (prior knowledge, as gRPC over a Unix socket uses) that runs unary gRPC calls one
/// after another with blocking socket I/O. A CNI plugin makes one or two calls per process: doing them on the calling
/// thread, without the thread pool, a connection pool or a background read loop, is what keeps the call cheap.
/// </summary>
internal sealed class Http2GrpcConnection : IDisposable
{
    private const int FrameHeaderLength = 9;
    private const int DefaultWindow = 65_535;
    private const int DefaultMaxFrameSize = 16_384;
    // Our receive window: larger than any response we accept, so the peer never waits on us within a call.
    private const int ReceiveWindow = 8 * 1024 * 1024;

    private const byte FrameData = 0x0, FrameHeaders = 0x1, FramePriority = 0x2, FrameRstStream = 0x3, FrameSettings = 0x4, FramePushPromise = 0x5,
        FramePing = 0x6, FrameGoAway = 0x7, FrameWindowUpdate = 0x8, FrameContinuation = 0x9;
    private const byte FlagEndStream = 0x1, FlagAck = 0x1, FlagEndHeaders = 0x4, FlagPadded = 0x8, FlagPriority = 0x20;

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    private readonly Socket _socket;
    private readonly HpackDecoder _decoder = new();
    private readonly byte[] _readBuffer = new byte[FrameHeaderLength + DefaultMaxFrameSize];
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private int _readStart;
    private int _readEnd;
    private bool _prefaceSent;
    private int _nextStreamId = 1;
    private long _connectionSendWindow = DefaultWindow;
    private int _peerInitialStreamWindow = DefaultWindow;
    private int _peerMaxFrameSize = DefaultMaxFrameSize;
    private int _receiveCreditToReturn;
    private int _currentStreamId;
    private long _streamSendWindow;
    private int? _goAwayLastStreamId;
    private bool _broken;

    private Http2GrpcConnection(Socket socket) => _socket = socket;

    /// <summary>False once the peer sent GOAWAY, the transport failed or stream ids ran out; make a new connection.</summary>
    public bool IsUsable => !_broken && _goAwayLastStreamId is null && _nextStreamId < int.MaxValue - 2;

    /// <summary>Connects (blocking) to a Unix socket or TCP endpoint.</summary>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    public static Http2GrpcConnection Connect(EndPoint endpoint)
    {
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endpoint);
            return new Http2GrpcConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs one unary call. Transport failures surface as <see cref="SocketException"/>/<see cref="IOException"/>, a
    /// deadline as <see cref="TimeoutException"/>, protocol violations as <see cref="Http2ProtocolException"/>; in all
    /// three cases the connection is spent. gRPC errors from the server are a normal result.
    /// </summary>
    public UnaryCallResult Call(string path, string authority, ReadOnlySpan<byte> message, Metadata? requestHeaders,
        TimeSpan? timeout, int maxResponseBytes, CancellationToken cancellationToken)
    {
        if (!IsUsable)
        {
            throw new InvalidOperationException("the connection is no longer usable");
        }

        var streamId = _nextStreamId;
        _nextStreamId += 2;
        try
        {
            // Per call: a call without a deadline must not inherit the previous call's (0 = wait for ever).
            var milliseconds = timeout is { } limit ? (int)Math.Clamp(Math.Ceiling(limit.TotalMilliseconds), 1, int.MaxValue) : 0;
            if (_socket.ReceiveTimeout != milliseconds)
            {
                _socket.ReceiveTimeout = milliseconds;
                _socket.SendTimeout = milliseconds;
            }

            // Shutting the socket down wakes a blocked receive; the caller sees the token and reports cancellation.
            using var registration = cancellationToken.Register(static state => ((Socket)state!).Shutdown(SocketShutdown.Both), _socket);
            cancellationToken.ThrowIfCancellationRequested();
            WriteRequest(streamId, path, authority, message, requestHeaders, timeout);
            return ReadResponse(streamId, maxResponseBytes);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            _broken = true;
            throw new TimeoutException("the deadline passed before the reply", ex);
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    public void Dispose() => _socket.Dispose();

    private void WriteRequest(int streamId, string path, string authority, ReadOnlySpan<byte> message, Metadata? requestHeaders, TimeSpan? timeout)
    {
        _output.ResetWrittenCount();
        if (!_prefaceSent)
        {
            _output.Write(Preface);
            // SETTINGS: no server push, and our large initial stream window; then the same for the connection window.
            WriteFrameHeader(12, FrameSettings, 0, 0);
            WriteSetting(0x2, 0);
            WriteSetting(0x4, ReceiveWindow);
            WriteWindowUpdate(0, ReceiveWindow - DefaultWindow);
            _prefaceSent = true;
        }

        if (_receiveCreditToReturn > 0)
        {
            WriteWindowUpdate(0, _receiveCreditToReturn);
            _receiveCreditToReturn = 0;
        }

        WriteHeaderBlock(streamId, BuildHeaderBlock(path, authority, requestHeaders, timeout));

        // The gRPC message: 1-byte compressed flag (0), 4-byte big-endian length, protobuf bytes.
        var body = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), message.Length);
        message.CopyTo(body.AsSpan(5));
        _currentStreamId = streamId;
        _streamSendWindow = _peerInitialStreamWindow;
        var sent = 0;
        while (true)
        {
            var allowed = (int)Math.Min(Math.Min(_connectionSendWindow, _streamSendWindow), body.Length - sent);
            while (allowed > 0)
            {
                var chunk = Math.Min(allowed, _peerMaxFrameSize);
                var last = sent + chunk == body.Length;
                WriteFrameHeader(chunk, FrameData, last ? FlagEndStream : (byte)0, streamId);
                _output.Write(body.AsSpan(sent, chunk));
                sent += chunk;
                allowed -= chunk;
                _connectionSendWindow -= chunk;
                _streamSendWindow -= chunk;
            }

            Flush();
            if (sent == body.Length)
            {
                return;
            }

            WaitForSendWindow(streamId);
        }
    }

    /// <summary>
    /// Reads frames until the peer opens both flow-control windows. Only control frames are expected while a request
    /// is incomplete; an early reply (possible only for bodies over 64 KiB) ends the call as a transport failure.
    /// </summary>
    private void WaitForSendWindow(int streamId)
    {
        while (_connectionSendWindow <= 0 || _streamSendWindow <= 0)
        {
            var frame = ReadFrame();
            if (!HandleConnectionFrame(frame) && frame.Stream == streamId)
            {
                throw new IOException("the server answered before the whole request was sent");
            }
        }
    }

    private UnaryCallResult ReadResponse(int streamId, int maxResponseBytes)
    {
        List<(string Name, string Value)>? headers = null;
        List<(string Name, string Value)>? trailers = null;
        var body = new ArrayBufferWriter<byte>(256);
        while (true)
        {
            var frame = ReadFrame();
            if (HandleConnectionFrame(frame))
            {
                continue;
            }

            var flags = frame.Flags;
            var frameStream = frame.Stream;
            var payload = frame.Payload;
            CheckStreamFrame(frame.Type, frameStream, payload.Length);
            switch (frame.Type)
            {
                case FrameHeaders:
                    var block = ReadHeaderBlock(frameStream, flags, payload);
                    var decoded = _decoder.Decode(block);
                    if (frameStream != streamId)
                    {
                        break;
                    }

                    if (headers is null)
                    {
                        headers = decoded;
                    }
                    else
                    {
                        trailers = decoded;
                    }

                    if ((flags & FlagEndStream) != 0)
                    {
                        return Complete(headers, trailers, body);
                    }

                    if (trailers is not null)
                    {
                        throw new Http2ProtocolException("trailers without END_STREAM");
                    }

                    break;
                case FrameData:
                    _receiveCreditToReturn += payload.Length;
                    if (frameStream != streamId)
                    {
                        break;
                    }

                    if (headers is null)
                    {
                        throw new Http2ProtocolException("DATA before the response headers");
                    }

                    var data = StripPadding(flags, payload);
                    if (body.WrittenCount + data.Length > maxResponseBytes + 5L)
                    {
                        return new UnaryCallResult(new Status(StatusCode.ResourceExhausted, $"the response is larger than {maxResponseBytes} bytes"), null, [], []);
                    }

                    body.Write(data);
                    if ((flags & FlagEndStream) != 0)
                    {
                        return Complete(headers, trailers: null, body);
                    }

                    break;
                case FrameRstStream when frameStream == streamId:
                    var code = BinaryPrimitives.ReadUInt32BigEndian(payload);
                    // REFUSED_STREAM means the server did no work: safe to call again.
                    return new UnaryCallResult(code switch
                    {
                        0x7 => new Status(StatusCode.Unavailable, "the server refused the stream"),
                        0x8 => new Status(StatusCode.Cancelled, "the server cancelled the stream"),
                        0xB => new Status(StatusCode.ResourceExhausted, "the server reset the stream: ENHANCE_YOUR_CALM"),
                        _ => new Status(StatusCode.Internal, $"the server reset the stream with HTTP/2 error {code}"),
                    }, null, [], []);
                case FrameRstStream:
                    break;
                case FramePushPromise:
                    throw new Http2ProtocolException("PUSH_PROMISE although push is disabled");
                case FrameContinuation:
                    throw new Http2ProtocolException("CONTINUATION without HEADERS");
                default:
                    // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
                    break;
            }
        }
    }

    /// <summary>
    /// The stream and length rules of the frames read outside <see cref="HandleConnectionFrame"/> (RFC 9113 §6): a
    /// violation is a connection error, so the call fails as a transport failure instead of a parse escaping.
    /// </summary>
    private static void CheckStreamFrame(byte type, int stream, int length)
    {
        switch (type)
        {
            case FrameData or FrameHeaders or FramePriority or FrameRstStream or FramePushPromise or FrameContinuation when stream == 0:
                throw new Http2ProtocolException($"frame type {type} on stream 0 (PROTOCOL_ERROR)");
            case FrameRstStream when length != 4:
                throw new Http2ProtocolException($"RST_STREAM payload of {length} octets, must be 4 (FRAME_SIZE_ERROR)");
            case FramePriority when length != 5:
                throw new Http2ProtocolException($"PRIORITY payload of {length} octets, must be 5 (FRAME_SIZE_ERROR)");
        }
    }

    /// <summary>Handles frames on stream 0; true when the frame was one of them.</summary>
    private bool HandleConnectionFrame(Http2Frame frame)
    {
        var flags = frame.Flags;
        var stream = frame.Stream;
        var payload = frame.Payload;
        switch (frame.Type)
        {
            case FrameSettings:
                if (stream != 0)
                {
                    throw new Http2ProtocolException("SETTINGS on a stream (PROTOCOL_ERROR)");
                }

                if ((flags & FlagAck) != 0)
                {
                    return payload.Length == 0 ? true : throw new Http2ProtocolException("SETTINGS acknowledgement with a payload (FRAME_SIZE_ERROR)");
                }

                if (payload.Length % 6 != 0)
                {
                    throw new Http2ProtocolException($"SETTINGS payload of {payload.Length} octets, not a multiple of 6 (FRAME_SIZE_ERROR)");
                }

                for (var i = 0; i < payload.Length; i += 6)
                {
                    var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
                    var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
                    if (id == 0x4)
                    {
                        if (value > int.MaxValue)
                        {
                            throw new Http2ProtocolException("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
                        }

                        // A change applies to open streams as a delta (RFC 9113 §6.9.2).
                        _streamSendWindow += (int)value - _peerInitialStreamWindow;
                        _peerInitialStreamWindow = (int)value;
                    }
                    else if (id == 0x5)
                    {
                        if (value is < DefaultMaxFrameSize or > 16_777_215)
                        {
                            throw new Http2ProtocolException("SETTINGS_MAX_FRAME_SIZE out of range");
                        }

                        _peerMaxFrameSize = (int)value;
                    }
                }

                _output.ResetWrittenCount();
                WriteFrameHeader(0, FrameSettings, FlagAck, 0);
                Flush();
                return true;
            case FramePing or FrameGoAway when stream != 0:
                throw new Http2ProtocolException($"frame type {frame.Type} on stream {stream}, must be on stream 0 (PROTOCOL_ERROR)");
            case FramePing:
                if (payload.Length != 8)
                {
                    throw new Http2ProtocolException($"PING payload of {payload.Length} octets, must be 8 (FRAME_SIZE_ERROR)");
                }

                if ((flags & FlagAck) == 0)
                {
                    _output.ResetWrittenCount();
                    WriteFrameHeader(8, FramePing, FlagAck, 0);
                    _output.Write(payload);
                    Flush();
                }

                return true;
            case FrameGoAway:
                if (payload.Length < 8)
                {
                    throw new Http2ProtocolException($"GOAWAY payload of {payload.Length} octets, must be at least 8 (FRAME_SIZE_ERROR)");
                }

                // Streams up to the last id may still complete; later ones were never processed.
                var lastStream = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
                _goAwayLastStreamId = lastStream;
                if (lastStream < _nextStreamId - 2)
                {
                    throw new IOException($"the server is going away (GOAWAY, last stream {lastStream}, error {BinaryPrimitives.ReadUInt32BigEndian(payload[4..])})");
                }

                return true;
            case FrameWindowUpdate when stream == 0:
                _connectionSendWindow += WindowIncrement(payload);
                if (_connectionSendWindow > int.MaxValue)
                {
                    throw new Http2ProtocolException("connection flow-control window above 2^31-1 (FLOW_CONTROL_ERROR)");
                }

                return true;
            case FrameWindowUpdate:
                if (stream == _currentStreamId)
                {
                    _streamSendWindow += WindowIncrement(payload);
                }

                return true;
            default:
                return false;
        }
    }

    private ReadOnlySpan<byte> ReadHeaderBlock(int stream, byte flags, ReadOnlySpan<byte> payload)
    {
        var fragment = StripPadding(flags, payload);
        if ((flags & FlagPriority) != 0)
        {
            if (fragment.Length < 5)
            {
                throw new Http2ProtocolException("HEADERS priority fields truncated");
            }

            fragment = fragment[5..];
        }

        if ((flags & FlagEndHeaders) != 0)
        {
            return fragment;
        }

        // A header block continues in CONTINUATION frames of the same stream, with nothing in between.
        var block = new ArrayBufferWriter<byte>(fragment.Length * 2);
        block.Write(fragment);
        while (true)
        {
            var frame = ReadFrame();
            var continuation = frame.Payload;
            if (frame.Type != FrameContinuation || frame.Stream != stream)
            {
                throw new Http2ProtocolException("header block interrupted by another frame");
            }

            if (block.WrittenCount + continuation.Length > 256 * 1024)
            {
                throw new Http2ProtocolException("header block too large");
            }

            block.Write(continuation);
            if ((frame.Flags & FlagEndHeaders) != 0)
            {
                return block.WrittenSpan;
            }
        }
    }

    private static ReadOnlySpan<byte> StripPadding(byte flags, ReadOnlySpan<byte> payload)
    {
        if ((flags & FlagPadded) == 0)
        {
            return payload;
        }

        if (payload.Length < 1 || payload[0] >= payload.Length)
        {
            throw new Http2ProtocolException("padding longer than the frame");
        }

        return payload[1..(payload.Length - payload[0])];
    }

    private static int WindowIncrement(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 4)
        {
            throw new Http2ProtocolException($"WINDOW_UPDATE payload of {payload.Length} octets, must be 4 (FRAME_SIZE_ERROR)");
        }

        var increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
        return increment > 0 ? increment : throw new Http2ProtocolException("WINDOW_UPDATE with an increment of 0 (PROTOCOL_ERROR)");
    }

    private static UnaryCallResult Complete(List<(string Name, string Value)> headers, List<(string Name, string Value)>? trailers, ArrayBufferWriter<byte> body)
    {
        var responseHeaders = ToMetadata(headers);
        // Trailers-only responses carry grpc-status in the one header block.
        var final = trailers ?? headers;
        var trailerMetadata = trailers is null ? responseHeaders : ToMetadata(trailers);
        var httpStatus = Find(headers, ":status");
        if (httpStatus != "200")
        {
            return new UnaryCallResult(new Status(HttpStatusToGrpc(httpStatus), $"HTTP status {httpStatus ?? "missing"} from the server"), null, responseHeaders, trailerMetadata);
        }

        if (Find(final, "grpc-status") is not { } grpcStatus || !int.TryParse(grpcStatus, out var code) || code is < 0 or > 16)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "the response has no valid grpc-status"), null, responseHeaders, trailerMetadata);
        }

        var detail = Find(final, "grpc-message") is { } encoded ? Uri.UnescapeDataString(encoded) : "";
        if (code != 0)
        {
            return new UnaryCallResult(new Status((StatusCode)code, detail), null, responseHeaders, trailerMetadata);
        }

        var bytes = body.WrittenSpan;
        if (bytes.Length < 5)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "OK status without a response message"), null, responseHeaders, trailerMetadata);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(bytes[1..]);
        if (bytes[0] != 0)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "the response message is compressed, and no compression was offered"), null, responseHeaders, trailerMetadata);
        }

        if (length != bytes.Length - 5)
        {
            return new UnaryCallResult(new Status(StatusCode.Internal, "a unary response must hold exactly one message"), null, responseHeaders, trailerMetadata);
        }

        return new UnaryCallResult(Status.DefaultSuccess, bytes[5..].ToArray(), responseHeaders, trailerMetadata);
    }

    // The gRPC HTTP/2 protocol's mapping for responses that never reached a gRPC handler.
    private static StatusCode HttpStatusToGrpc(string? status) => status switch
    {
        "400" => StatusCode.Internal,
        "401" => StatusCode.Unauthenticated,
        "403" => StatusCode.PermissionDenied,
        "404" => StatusCode.Unimplemented,
        "429" or "502" or "503" or "504" => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private static string? Find(List<(string Name, string Value)> fields, string name)
    {
        foreach (var (fieldName, value) in fields)
        {
            if (fieldName == name)
            {
                return value;
            }
        }

        return null;
    }

    private static Metadata ToMetadata(List<(string Name, string Value)> fields)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in fields)
        {
            if (name.StartsWith(':') || name is "content-type" or "grpc-status" or "grpc-message")
            {
                continue;
            }

            if (!IsValidMetadataKey(name))
            {
                // Metadata refuses such keys (upper case, spaces, ...); a server's odd header must not fail the call.
                continue;
            }

            if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                // Binary metadata is base64, often unpadded; an undecodable value is dropped rather than failing the call.
                var padded = value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '=');
                var buffer = new byte[padded.Length];
                if (Convert.TryFromBase64String(padded, buffer, out var written))
                {
                    metadata.Add(name, buffer[..written]);
                }
            }
            else
            {
                metadata.Add(name, value);
            }
        }

        return metadata;
    }

    /// <summary>Grpc.Core's rule for metadata keys: lower-case letters, digits, '_', '-', '.'.</summary>
    private static bool IsValidMetadataKey(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] BuildHeaderBlock(string path, string authority, Metadata? requestHeaders, TimeSpan? timeout)
    {
        var block = new ArrayBufferWriter<byte>(256);
        HpackEncoder.WriteIndexed(block, 3); // :method POST
        HpackEncoder.WriteIndexed(block, 6); // :scheme http
        HpackEncoder.WriteLiteral(block, 4, path); // :path
        HpackEncoder.WriteLiteral(block, 1, authority); // :authority
        HpackEncoder.WriteLiteral(block, 31, "application/grpc"); // content-type
        HpackEncoder.WriteLiteral(block, "te", "trailers");
        if (timeout is { } limit)
        {
            HpackEncoder.WriteLiteral(block, "grpc-timeout", FormatTimeout(limit));
        }

        HpackEncoder.WriteLiteral(block, 58, "vpc-cni-grpc/1"); // user-agent
        if (requestHeaders is not null)
        {
            foreach (var entry in requestHeaders)
            {
                HpackEncoder.WriteLiteral(block, entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value);
            }
        }

        return block.WrittenSpan.ToArray();
    }

    /// <summary>gRPC's timeout header: at most 8 digits and a unit.</summary>
    internal static string FormatTimeout(TimeSpan timeout)
    {
        var milliseconds = (long)Math.Ceiling(Math.Max(timeout.TotalMilliseconds, 1));
        return milliseconds <= 99_999_999 ? $"{milliseconds}m" : $"{Math.Min((long)Math.Ceiling(timeout.TotalSeconds), 99_999_999)}S";
    }

    private void WriteHeaderBlock(int streamId, ReadOnlySpan<byte> block)
    {
        var first = Math.Min(block.Length, _peerMaxFrameSize);
        WriteFrameHeader(first, FrameHeaders, first == block.Length ? FlagEndHeaders : (byte)0, streamId);
        _output.Write(block[..first]);
        for (var offset = first; offset < block.Length;)
        {
            var chunk = Math.Min(block.Length - offset, _peerMaxFrameSize);
            WriteFrameHeader(chunk, FrameContinuation, offset + chunk == block.Length ? FlagEndHeaders : (byte)0, streamId);
            _output.Write(block.Slice(offset, chunk));
            offset += chunk;
        }
    }

    private void WriteFrameHeader(int length, byte type, byte flags, int streamId)
    {
        var span = _output.GetSpan(FrameHeaderLength);
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = type;
        span[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(span[5..], streamId & 0x7FFF_FFFF);
        _output.Advance(FrameHeaderLength);
    }

    private void WriteSetting(ushort id, uint value)
    {
        var span = _output.GetSpan(6);
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], value);
        _output.Advance(6);
    }

    private void WriteWindowUpdate(int streamId, int increment)
    {
        WriteFrameHeader(4, FrameWindowUpdate, 0, streamId);
        BinaryPrimitives.WriteInt32BigEndian(_output.GetSpan(4), increment);
        _output.Advance(4);
    }

    private void Flush()
    {
        var pending = _output.WrittenSpan;
        while (!pending.IsEmpty)
        {
            pending = pending[_socket.Send(pending)..];
        }

        _output.ResetWrittenCount();
    }

    /// <summary>The next frame; its payload is valid until the next read.</summary>
    private Http2Frame ReadFrame()
    {
        EnsureBuffered(FrameHeaderLength);
        var header = _readBuffer.AsSpan(_readStart, FrameHeaderLength);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        if (length > DefaultMaxFrameSize)
        {
            // We never raised SETTINGS_MAX_FRAME_SIZE, so a larger frame is a FRAME_SIZE_ERROR.
            throw new Http2ProtocolException($"frame of {length} octets exceeds the maximum frame size");
        }

        var type = header[3];
        var flags = header[4];
        var stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFF_FFFF);
        EnsureBuffered(FrameHeaderLength + length);
        var payload = _readBuffer.AsSpan(_readStart + FrameHeaderLength, length);
        _readStart += FrameHeaderLength + length;
        return new Http2Frame(type, flags, stream, payload);
    }

    private void EnsureBuffered(int count)
    {
        if (_readEnd - _readStart >= count)
        {
            return;
        }

        if (_readStart > 0)
        {
            // Move the partial frame to the front; the previous frame's payload is no longer referenced.
            Buffer.BlockCopy(_readBuffer, _readStart, _readBuffer, 0, _readEnd - _readStart);
            _readEnd -= _readStart;
            _readStart = 0;
        }

        while (_readEnd < count)
        {
            var received = _socket.Receive(_readBuffer.AsSpan(_readEnd));
            if (received == 0)
            {
                throw new IOException("the server closed the connection");
            }

            _readEnd += received;
        }
    }
}
