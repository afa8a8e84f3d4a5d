using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// One plaintext HTTP/2 connection (prior knowledge, as gRPC over a Unix socket uses) that runs unary gRPC calls one
/// after another with blocking socket I/O: the I/O, the flow-control windows and the state of the one open stream.
/// Frames are encoded and decoded by <see cref="Http2FrameCodec"/>, statuses mapped by <see cref="GrpcStatusMapping"/>.
/// A CNI plugin makes one or two calls per process: doing them on the calling thread, without the thread pool, a
/// connection pool or a background read loop, is what keeps the call cheap.
/// </summary>
internal sealed class Http2GrpcConnection : IDisposable
{
    // Our receive window: larger than any response we accept, so the peer never waits on us within a call.
    internal const int ReceiveWindow = 8 * 1024 * 1024;
    // Header blocks we accept, HEADERS and CONTINUATION together.
    private const int MaxHeaderBlock = 256 * 1024;

    private readonly IHttp2Transport _transport;
    private readonly HpackDecoder _decoder = new();
    // Uninitialised: only received octets are ever read, and zeroing 16 KB is measurable in a one-call plugin.
    private readonly byte[] _readBuffer = GC.AllocateUninitializedArray<byte>(Http2FrameCodec.HeaderLength + Http2FrameCodec.DefaultMaxFrameSize);
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private int _readStart;
    private int _readEnd;
    private bool _prefaceSent;
    private int _nextStreamId = 1;
    private long _connectionSendWindow = Http2FrameCodec.DefaultWindow;
    private int _peerInitialStreamWindow = Http2FrameCodec.DefaultWindow;
    private int _peerMaxFrameSize = Http2FrameCodec.DefaultMaxFrameSize;
    // The size our (never used) HPACK encoder table may have; the peer's decoder starts at 4096 (RFC 7541 §4.2).
    private int _encoderTableSize = HpackDecoder.DefaultTableSize;
    private int? _owedTableSizeUpdate;
    private int _receiveCreditToReturn;
    private int _currentStreamId;
    private long _streamSendWindow;
    private int? _goAwayLastStreamId;
    private bool _broken;

    private Http2GrpcConnection(IHttp2Transport transport) => _transport = transport;

    /// <summary>False once the peer sent GOAWAY, the transport failed or stream ids ran out; make a new connection.</summary>
    public bool IsUsable => !_broken && _goAwayLastStreamId is null && _nextStreamId < int.MaxValue - 2;

    /// <summary>
    /// connect(2) with a time limit, without the socket's async engine: ConnectAsync would start its epoll thread (and a
    /// timer) in a process that lives for one call. A non-blocking connect either completes at once, is in progress (TCP:
    /// wait for writability with poll(2), then read SO_ERROR), or finds a Unix socket's backlog full (EAGAIN: retry).
    /// </summary>
    internal static void ConnectWithin(Socket socket, EndPoint endpoint, TimeSpan limit)
    {
        var deadline = Environment.TickCount64 + (long)Math.Ceiling(limit.TotalMilliseconds);
        socket.Blocking = false;
        try
        {
            while (true)
            {
                try
                {
                    socket.Connect(endpoint);
                    return;
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.AlreadyInProgress)
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0)
                    {
                        throw new TimeoutException($"connect did not complete within {limit.TotalSeconds:0.###} s", ex);
                    }

                    if (endpoint is UnixDomainSocketEndPoint)
                    {
                        // EAGAIN: the listener's backlog is full and nothing will signal room; try again shortly.
                        Thread.Sleep((int)Math.Min(left, 5));
                        continue;
                    }

                    if (!socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectWrite))
                    {
                        throw new TimeoutException($"connect did not complete within {limit.TotalSeconds:0.###} s", ex);
                    }

                    var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (error != SocketError.Success)
                    {
                        throw new SocketException((int)error);
                    }

                    return;
                }
            }
        }
        finally
        {
            socket.Blocking = true;
        }
    }

    /// <summary>Connects (blocking) to a Unix socket or TCP endpoint.</summary>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    /// <exception cref="TimeoutException">A <paramref name="timeout"/> was given and the connect took longer.</exception>
    public static Http2GrpcConnection Connect(EndPoint endpoint, TimeSpan? timeout = null)
    {
        if (endpoint is UnixDomainSocketEndPoint && OperatingSystem.IsLinux())
        {
            return new Http2GrpcConnection(UnixSocketTransport.Connect(endpoint.ToString()!, timeout));
        }

        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (timeout is { } limit)
            {
                ConnectWithin(socket, endpoint, limit);
            }
            else
            {
                socket.Connect(endpoint);
            }

            return new Http2GrpcConnection(new SocketTransport(socket));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>gRPC's timeout header (kept here for callers of the connection); see <see cref="GrpcRequestHeaders.FormatTimeout"/>.</summary>
    internal static string FormatTimeout(TimeSpan timeout) => GrpcRequestHeaders.FormatTimeout(timeout);

    /// <summary>
    /// Runs one unary call. Transport failures surface as <see cref="SocketException"/>/<see cref="IOException"/>, a
    /// deadline as <see cref="TimeoutException"/>, protocol violations as <see cref="Http2ProtocolException"/> or
    /// <see cref="HpackException"/> (after a best-effort GOAWAY naming the error); in all cases the connection is
    /// spent. gRPC errors from the server, and a reset of our stream, are a normal result.
    /// </summary>
    public UnaryCallResult Call(string path, string authority, ReadOnlySpan<byte> message, IReadOnlyList<(string Name, string Value)>? requestHeaders,
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
            if (_transport.TimeoutMilliseconds != milliseconds)
            {
                _transport.TimeoutMilliseconds = milliseconds;
            }

            // Shutting the socket down wakes a blocked receive; the caller sees the token and reports cancellation.
            using var registration = cancellationToken.Register(static state => ((IHttp2Transport)state!).Abort(), _transport);
            cancellationToken.ThrowIfCancellationRequested();
            WriteRequest(streamId, path, authority, message, requestHeaders, timeout);
            return ReadResponse(streamId, maxResponseBytes);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            _broken = true;
            throw new TimeoutException("the deadline passed before the reply", ex);
        }
        catch (Exception ex) when (ex is Http2ProtocolException or HpackException)
        {
            _broken = true;
            SendGoAwayQuietly(ex is Http2ProtocolException protocol ? protocol.ErrorCode : Http2ErrorCode.CompressionError);
            throw;
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    public void Dispose() => _transport.Dispose();

    private void WriteRequest(int streamId, string path, string authority, ReadOnlySpan<byte> message, IReadOnlyList<(string Name, string Value)>? requestHeaders, TimeSpan? timeout)
    {
        _output.ResetWrittenCount();
        if (!_prefaceSent)
        {
            _output.Write(Http2FrameCodec.ClientPreface);
            // No server push, and our large initial stream window; then the same for the connection window.
            Http2FrameCodec.WriteSettings(_output, [new(Http2Setting.EnablePush, 0), new(Http2Setting.InitialWindowSize, ReceiveWindow)]);
            Http2FrameCodec.WriteWindowUpdate(_output, 0, ReceiveWindow - Http2FrameCodec.DefaultWindow);
            _prefaceSent = true;
        }

        if (_receiveCreditToReturn > 0)
        {
            Http2FrameCodec.WriteWindowUpdate(_output, 0, _receiveCreditToReturn);
            _receiveCreditToReturn = 0;
        }

        var block = new ArrayBufferWriter<byte>(256);
        GrpcRequestHeaders.Write(block, path, authority, requestHeaders, timeout, _owedTableSizeUpdate);
        _owedTableSizeUpdate = null;
        Http2FrameCodec.WriteHeaders(_output, streamId, block.WrittenSpan, endStream: false, _peerMaxFrameSize);

        var body = GrpcUnaryResponse.Frame(message);
        _currentStreamId = streamId;
        _streamSendWindow = _peerInitialStreamWindow;
        var sent = 0;
        while (true)
        {
            var allowed = (int)Math.Max(0, Math.Min(Math.Min(_connectionSendWindow, _streamSendWindow), body.Length - sent));
            while (allowed > 0)
            {
                var chunk = Math.Min(allowed, _peerMaxFrameSize);
                Http2FrameCodec.WriteData(_output, streamId, body.AsSpan(sent, chunk), endStream: sent + chunk == body.Length);
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

            switch (frame.Type)
            {
                case Http2FrameType.Headers:
                    // Every header block goes through the decoder, ours or not: the dynamic table is connection state.
                    var decoded = _decoder.Decode(ReadHeaderBlock(frame));
                    if (frame.Stream != streamId)
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

                    if (frame.HasFlag(Http2Flags.EndStream))
                    {
                        return GrpcUnaryResponse.Complete(headers, trailers, body.WrittenSpan);
                    }

                    if (trailers is not null)
                    {
                        throw new Http2ProtocolException("trailers without END_STREAM");
                    }

                    break;
                case Http2FrameType.Data:
                    // Flow control counts the whole payload, padding included (RFC 9113 §6.9.1).
                    _receiveCreditToReturn += frame.Payload.Length;
                    if (frame.Stream != streamId)
                    {
                        break;
                    }

                    if (headers is null)
                    {
                        throw new Http2ProtocolException("DATA before the response headers");
                    }

                    var data = Http2FrameCodec.DataPayload(frame);
                    if (body.WrittenCount + data.Length > maxResponseBytes + 5L)
                    {
                        return GrpcUnaryResponse.TooLarge(maxResponseBytes);
                    }

                    body.Write(data);
                    if (frame.HasFlag(Http2Flags.EndStream))
                    {
                        return GrpcUnaryResponse.Complete(headers, trailers: null, body.WrittenSpan);
                    }

                    break;
                case Http2FrameType.RstStream when frame.Stream == streamId:
                    return GrpcUnaryResponse.Reset(Http2FrameCodec.RstStreamCode(frame.Payload));
                case Http2FrameType.PushPromise:
                    throw new Http2ProtocolException("PUSH_PROMISE although push is disabled");
                case Http2FrameType.Continuation:
                    throw new Http2ProtocolException("CONTINUATION without HEADERS");
                default:
                    // PRIORITY, resets of other streams and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
                    break;
            }
        }
    }

    /// <summary>Handles the frames that concern the connection (SETTINGS, PING, GOAWAY, WINDOW_UPDATE); true when it was one.</summary>
    private bool HandleConnectionFrame(Http2Frame frame)
    {
        switch (frame.Type)
        {
            case Http2FrameType.Settings:
                if (!frame.HasFlag(Http2Flags.Ack))
                {
                    ApplySettings(Http2FrameCodec.Settings(frame.Payload));
                    _output.ResetWrittenCount();
                    Http2FrameCodec.WriteSettingsAck(_output);
                    Flush();
                }

                return true;
            case Http2FrameType.Ping:
                if (!frame.HasFlag(Http2Flags.Ack))
                {
                    _output.ResetWrittenCount();
                    Http2FrameCodec.WritePing(_output, ack: true, frame.Payload);
                    Flush();
                }

                return true;
            case Http2FrameType.GoAway:
                // Streams up to the last id may still complete; later ones were never processed.
                var (lastStream, error) = Http2FrameCodec.GoAway(frame.Payload);
                _goAwayLastStreamId = lastStream;
                if (lastStream < _currentStreamId)
                {
                    throw new IOException($"the server is going away (GOAWAY, last stream {lastStream}, {Http2ProtocolException.NameOf(error)}); the call was not processed");
                }

                return true;
            case Http2FrameType.WindowUpdate when frame.Stream == 0:
                _connectionSendWindow += Http2FrameCodec.WindowIncrement(frame.Payload);
                if (_connectionSendWindow > Http2FrameCodec.MaxWindow)
                {
                    throw new Http2ProtocolException("connection flow-control window above 2^31-1", Http2ErrorCode.FlowControlError);
                }

                return true;
            case Http2FrameType.WindowUpdate:
                var increment = Http2FrameCodec.WindowIncrement(frame.Payload);
                if (frame.Stream == _currentStreamId)
                {
                    _streamSendWindow += increment;
                    if (_streamSendWindow > Http2FrameCodec.MaxWindow)
                    {
                        throw new Http2ProtocolException("stream flow-control window above 2^31-1", Http2ErrorCode.FlowControlError);
                    }
                }

                return true;
            default:
                return false;
        }
    }

    private void ApplySettings(List<Http2Setting> settings)
    {
        foreach (var setting in settings)
        {
            switch (setting.Id)
            {
                case Http2Setting.InitialWindowSize:
                    // A change applies to the open stream as a delta, and may make its window negative (RFC 9113 §6.9.2).
                    _streamSendWindow += (int)setting.Value - _peerInitialStreamWindow;
                    _peerInitialStreamWindow = (int)setting.Value;
                    break;
                case Http2Setting.MaxFrameSize:
                    _peerMaxFrameSize = (int)setting.Value;
                    break;
                case Http2Setting.HeaderTableSize when setting.Value < _encoderTableSize:
                    // Our encoder never indexes, but a peer's decoder may insist on hearing that our table shrank
                    // before the next header block is decoded (RFC 7541 §4.2).
                    _encoderTableSize = (int)setting.Value;
                    _owedTableSizeUpdate = _encoderTableSize;
                    break;
            }
        }
    }

    /// <summary>A header block: the HEADERS fragment and those of the CONTINUATION frames that must follow it at once.</summary>
    private ReadOnlySpan<byte> ReadHeaderBlock(Http2Frame headers)
    {
        var fragment = Http2FrameCodec.HeaderBlockFragment(headers);
        if (headers.HasFlag(Http2Flags.EndHeaders))
        {
            return fragment;
        }

        // The fragment may be empty (RFC 9113 §6.2), and a buffer's initial capacity must be positive.
        var block = new ArrayBufferWriter<byte>(Math.Max(256, fragment.Length * 2));
        block.Write(fragment);
        while (true)
        {
            var frame = ReadFrame();
            if (frame.Type != Http2FrameType.Continuation || frame.Stream != headers.Stream)
            {
                throw new Http2ProtocolException("header block interrupted by another frame");
            }

            if (block.WrittenCount + frame.Payload.Length > MaxHeaderBlock)
            {
                throw new Http2ProtocolException("header block too large", Http2ErrorCode.EnhanceYourCalm);
            }

            block.Write(Http2FrameCodec.HeaderBlockFragment(frame));
            if (frame.HasFlag(Http2Flags.EndHeaders))
            {
                return block.WrittenSpan;
            }
        }
    }

    private void SendGoAwayQuietly(Http2ErrorCode code)
    {
        try
        {
            // We never accept server-initiated streams, so the last one we processed is 0.
            _output.ResetWrittenCount();
            Http2FrameCodec.WriteGoAway(_output, 0, code);
            Flush();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The peer is gone already; GOAWAY was only a courtesy.
        }
    }

    private void Flush()
    {
        var pending = _output.WrittenSpan;
        while (!pending.IsEmpty)
        {
            pending = pending[_transport.Send(pending)..];
        }

        _output.ResetWrittenCount();
    }

    /// <summary>The next frame, checked against the frame rules; its payload is valid until the next read.</summary>
    private Http2Frame ReadFrame()
    {
        while (true)
        {
            // We never raise our SETTINGS_MAX_FRAME_SIZE, so the default is the limit.
            if (Http2FrameCodec.TryDecode(_readBuffer.AsSpan(_readStart, _readEnd - _readStart), Http2FrameCodec.DefaultMaxFrameSize, out var frame, out var length))
            {
                _readStart += length;
                Http2FrameCodec.Validate(frame);
                return frame;
            }

            Fill(length);
        }
    }

    /// <summary>Receives until at least <paramref name="count"/> octets from the read position are buffered.</summary>
    private void Fill(int count)
    {
        if (_readStart > 0)
        {
            // Move the partial frame to the front; the previous frame's payload is no longer referenced.
            Buffer.BlockCopy(_readBuffer, _readStart, _readBuffer, 0, _readEnd - _readStart);
            _readEnd -= _readStart;
            _readStart = 0;
        }

        while (_readEnd < count)
        {
            var received = _transport.Receive(_readBuffer.AsSpan(_readEnd));
            if (received == 0)
            {
                throw new IOException("the server closed the connection");
            }

            _readEnd += received;
        }
    }
}
