using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>A frame the client sent, copied out of the read buffer.</summary>
internal sealed record ClientFrame(Http2FrameType Type, byte Flags, int Stream, byte[] Payload)
{
    public bool Has(byte flag) => (Flags & flag) != 0;

    public int WindowIncrement => BinaryPrimitives.ReadInt32BigEndian(Payload) & 0x7FFF_FFFF;

    public Http2ErrorCode GoAwayCode => (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4));
}

/// <summary>
/// The server side of the plugin client's connections, driven step by step by a test over a Unix socket pair: the test
/// accepts a connection, reads the client's frames and answers with frames written by the frame codec, so it can
/// assert what the client sends in reply (ACKs, WINDOW_UPDATE, GOAWAY, the rest of a body once a window opens).
/// </summary>
internal sealed class Http2TestPeer : IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-h2peer-").FullName;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly List<Http2TestConnection> _connections = [];

    public Http2TestPeer()
    {
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(4);
    }

    public string SocketPath => Path.Combine(_directory, "peer.sock");

    /// <summary>The next connection the client opens; throws if none comes within <paramref name="timeout"/>.</summary>
    public Http2TestConnection Accept(TimeSpan? timeout = null)
    {
        var accept = _listener.AcceptAsync();
        if (!accept.Wait(timeout ?? Patience))
        {
            throw new TimeoutException("the client opened no connection");
        }

        var connection = new Http2TestConnection(accept.Result);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>Whether the client opens another connection within <paramref name="wait"/>.</summary>
    public bool ConnectionPending(TimeSpan wait) => _listener.Poll(wait, SelectMode.SelectRead);

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        _listener.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>One accepted connection: reads client frames (any size, so oversize is visible) and writes server frames.</summary>
internal sealed class Http2TestConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;

    public Http2TestConnection(Socket socket)
    {
        _socket = socket;
        _socket.ReceiveTimeout = (int)Http2TestPeer.Patience.TotalMilliseconds;
    }

    /// <summary>Every frame read so far, in order.</summary>
    public List<ClientFrame> Received { get; } = [];

    /// <summary>Reads the client preface and its first SETTINGS frame.</summary>
    public ClientFrame ReadPreface()
    {
        Fill(24);
        _buffer.AsSpan(_start, 24).SequenceEqual(Http2FrameCodec.ClientPreface).Should().BeTrue("the connection must open with the client preface");
        _start += 24;
        var settings = ReadFrame();
        settings.Type.Should().Be(Http2FrameType.Settings);
        return settings;
    }

    public ClientFrame ReadFrame()
    {
        while (true)
        {
            if (Http2FrameCodec.TryDecode(_buffer.AsSpan(_start, _end - _start), Http2FrameCodec.MaxFrameSizeLimit, out var frame, out var needed))
            {
                var copy = new ClientFrame(frame.Type, frame.Flags, frame.Stream, frame.Payload.ToArray());
                _start += needed;
                Received.Add(copy);
                return copy;
            }

            Fill(needed);
        }
    }

    /// <summary>The next frame if one arrives within <paramref name="wait"/>; null if the client stays quiet.</summary>
    public ClientFrame? ReadFrameWithin(TimeSpan wait)
    {
        if (_end - _start == 0 && !_socket.Poll(wait, SelectMode.SelectRead))
        {
            return null;
        }

        return ReadFrame();
    }

    /// <summary>Reads until a frame matches; returns it (the frames before it are in <see cref="Received"/>).</summary>
    public ClientFrame ReadUntil(Func<ClientFrame, bool> match)
    {
        while (true)
        {
            var frame = ReadFrame();
            if (match(frame))
            {
                return frame;
            }
        }
    }

    /// <summary>Reads a whole request on <paramref name="stream"/> (up to DATA with END_STREAM); returns its header block and body.</summary>
    public (byte[] HeaderBlock, byte[] Body) ReadRequest(int stream)
    {
        var block = new List<byte>();
        var body = new List<byte>();
        while (true)
        {
            var frame = ReadFrame();
            if (frame.Stream != stream)
            {
                continue;
            }

            if (frame.Type is Http2FrameType.Headers or Http2FrameType.Continuation)
            {
                block.AddRange(frame.Payload);
            }
            else if (frame.Type == Http2FrameType.Data)
            {
                body.AddRange(frame.Payload);
                if (frame.Has(Http2Flags.EndStream))
                {
                    return (block.ToArray(), body.ToArray());
                }
            }
        }
    }

    public void Send(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        _socket.Send(output.WrittenSpan);
    }

    public void SendSettings(params Http2Setting[] settings) => Send(o => Http2FrameCodec.WriteSettings(o, settings));

    public void SendFrame(Http2FrameType type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var copy = payload.ToArray();
        Send(o => Http2FrameCodec.WriteFrame(o, type, flags, stream, copy));
    }

    /// <summary>A complete, successful unary reply on <paramref name="stream"/>.</summary>
    public void SendReply(int stream, IMessage message) => Send(o =>
    {
        Http2FrameCodec.WriteHeaders(o, stream, Block((":status", "200"), ("content-type", "application/grpc")), endStream: false, Http2FrameCodec.DefaultMaxFrameSize);
        Http2FrameCodec.WriteData(o, stream, GrpcMessage(message), endStream: false);
        Http2FrameCodec.WriteHeaders(o, stream, Block(("grpc-status", "0")), endStream: true, Http2FrameCodec.DefaultMaxFrameSize);
    });

    public void Close() => _socket.Shutdown(SocketShutdown.Both);

    public void Dispose() => _socket.Dispose();

    /// <summary>A header block of literal fields without indexing (RFC 7541 §6.2.2), no Huffman.</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var block = new ArrayBufferWriter<byte>();
        foreach (var (name, value) in fields)
        {
            HpackEncoder.WriteLiteral(block, name, value);
        }

        return block.WrittenSpan.ToArray();
    }

    public static byte[] GrpcMessage(IMessage message) => GrpcUnaryResponse.Frame(message.ToByteArray());

    private void Fill(int count)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        while (_end < count)
        {
            var received = _socket.Receive(_buffer.AsSpan(_end));
            if (received == 0)
            {
                throw new EndOfStreamException($"the client closed the connection; frames so far: {string.Join(", ", Received.Select(f => $"{f.Type}/{f.Stream}"))}");
            }

            _end += received;
        }
    }
}
