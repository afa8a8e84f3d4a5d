using System.Net.Sockets;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary><see cref="IHttp2Transport"/> over <see cref="Socket"/>: TCP, and Unix sockets off Linux.</summary>
internal sealed class SocketTransport(Socket socket) : IHttp2Transport
{
    public int TimeoutMilliseconds
    {
        get => socket.ReceiveTimeout;
        set
        {
            socket.ReceiveTimeout = value;
            socket.SendTimeout = value;
        }
    }

    public int Send(ReadOnlySpan<byte> data) => socket.Send(data);

    public int Receive(Span<byte> buffer) => socket.Receive(buffer);

    public void Abort() => socket.Shutdown(SocketShutdown.Both);

    public void Dispose() => socket.Dispose();
}
