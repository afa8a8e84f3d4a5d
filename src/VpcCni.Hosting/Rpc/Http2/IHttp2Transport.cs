namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// The byte stream under <see cref="Http2GrpcConnection"/>: blocking send and receive with a per-call timeout, and an
/// abort another thread may call to wake a blocked receive. Failures are <see cref="System.Net.Sockets.SocketException"/>
/// (<see cref="System.Net.Sockets.SocketError.TimedOut"/> when the timeout passes), as the socket class throws them.
/// </summary>
internal interface IHttp2Transport : IDisposable
{
    /// <summary>Receive and send timeout in milliseconds; 0 waits for ever.</summary>
    int TimeoutMilliseconds { get; set; }

    /// <summary>Sends some of <paramref name="data"/>; returns how many octets went.</summary>
    int Send(ReadOnlySpan<byte> data);

    /// <summary>Receives into <paramref name="buffer"/>; 0 when the peer closed the stream.</summary>
    int Receive(Span<byte> buffer);

    /// <summary>Shuts both directions down (a blocked receive returns); safe from another thread.</summary>
    void Abort();
}
