using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>
/// A fake gRPC server on a Unix socket that answers every connection with fixed bytes (whatever the request), then
/// closes its side while still reading the client's, so the client sees exactly the scripted frames and then EOF.
/// </summary>
internal sealed class ScriptedHttp2Server : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-h2script-").FullName;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ScriptedHttp2Server()
    {
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath => Path.Combine(_directory, "ipamd.sock");

    /// <summary>The bytes every new connection receives.</summary>
    public byte[] Script { get; set; } = [];

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client, Script);
        }
    }

    private async Task ServeAsync(Socket client, byte[] script)
    {
        using (client)
        {
            try
            {
                var draining = DrainAsync(client);
                await client.SendAsync(script, SocketFlags.None, _stop.Token);
                client.Shutdown(SocketShutdown.Send);
                await draining.WaitAsync(TimeSpan.FromSeconds(10), _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
            {
            }
        }
    }

    private async Task DrainAsync(Socket client)
    {
        var buffer = new byte[16 * 1024];
        while (await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0)
        {
        }
    }

    public static byte[] Frame(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>A HEADERS frame (END_HEADERS) of literal fields without indexing.</summary>
    public static byte[] Headers(int stream, bool endStream, params (string Name, string Value)[] fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            block.Add(0x00);
            block.Add((byte)name.Length);
            block.AddRange(Encoding.ASCII.GetBytes(name));
            block.Add((byte)value.Length);
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }

        return Frame(0x1, (byte)(0x4 | (endStream ? 0x1 : 0)), stream, block.ToArray());
    }

    public static byte[] GrpcData(int stream, IMessage message, bool endStream = false)
    {
        var bytes = message.ToByteArray();
        var payload = new byte[5 + bytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(1), bytes.Length);
        bytes.CopyTo(payload, 5);
        return Frame(0x0, endStream ? (byte)0x1 : (byte)0, stream, payload);
    }

    public static byte[] Settings() => Frame(0x4, 0, 0, []);

    /// <summary>A complete, valid unary reply on stream 1.</summary>
    public static byte[] Reply(IMessage message) =>
    [
        .. Headers(1, false, (":status", "200"), ("content-type", "application/grpc")),
        .. GrpcData(1, message),
        .. Headers(1, true, ("grpc-status", "0")),
    ];
}
