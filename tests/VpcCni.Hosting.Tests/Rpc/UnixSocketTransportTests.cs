using System.Net.Sockets;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>The libc Unix-socket transport under the plugin's HTTP/2 client, against real listeners.</summary>
public sealed class UnixSocketTransportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-unixtransport-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Connect_Listener_SendsAndReceivesBothWays()
    {
        var path = Path.Combine(_directory, "echo.sock");
        using var listener = Listen(path, 4);

        using var transport = UnixSocketTransport.Connect(path, TimeSpan.FromSeconds(5));
        using var accepted = listener.Accept();
        transport.Send("ping"u8).Should().Be(4);
        var received = new byte[16];
        accepted.Receive(received).Should().Be(4);
        accepted.Send("pong!"u8);

        var buffer = new byte[16];
        var count = transport.Receive(buffer);

        buffer.AsSpan(0, count).ToArray().Should().Equal("pong!"u8.ToArray());
        received.AsSpan(0, 4).ToArray().Should().Equal("ping"u8.ToArray());
    }

    [Fact]
    public void Receive_PeerClosed_ReturnsZero()
    {
        var path = Path.Combine(_directory, "close.sock");
        using var listener = Listen(path, 4);
        using var transport = UnixSocketTransport.Connect(path, timeout: null);
        listener.Accept().Dispose();

        transport.Receive(new byte[8]).Should().Be(0);
    }

    [Fact]
    public void Receive_TimeoutPasses_ThrowsTimedOut()
    {
        var path = Path.Combine(_directory, "silent.sock");
        using var listener = Listen(path, 4);
        using var transport = UnixSocketTransport.Connect(path, TimeSpan.FromSeconds(5));
        using var accepted = listener.Accept();
        transport.TimeoutMilliseconds = 50;

        var receive = () => transport.Receive(new byte[8]);

        receive.Should().Throw<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.TimedOut);
        transport.TimeoutMilliseconds.Should().Be(50);
    }

    [Fact]
    public async Task Abort_FromAnotherThread_WakesABlockedReceive()
    {
        var path = Path.Combine(_directory, "abort.sock");
        using var listener = Listen(path, 4);
        using var transport = UnixSocketTransport.Connect(path, timeout: null);
        using var accepted = listener.Accept();
        using var started = new ManualResetEventSlim();

        var blocked = Task.Run(() =>
        {
            started.Set();
            return transport.Receive(new byte[8]);
        }, TestContext.Current.CancellationToken);
        started.Wait(TestContext.Current.CancellationToken);
        Thread.Sleep(50);
        transport.Abort();

        var received = await blocked.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        received.Should().Be(0);
    }

    [Fact]
    public void Connect_NothingThere_ThrowsAddressNotAvailableWithTheSystemMessage()
    {
        var path = Path.Combine(_directory, "none.sock");

        var connect = () => UnixSocketTransport.Connect(path, TimeSpan.FromSeconds(1));

        var error = connect.Should().Throw<SocketException>().Which;
        error.SocketErrorCode.Should().Be(SocketError.AddressNotAvailable);
        error.Message.Should().Be("No such file or directory");
    }

    [Fact]
    public void Connect_SocketThatDoesNotListen_ThrowsConnectionRefused()
    {
        var path = Path.Combine(_directory, "stale.sock");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path));

        var connect = () => UnixSocketTransport.Connect(path, TimeSpan.FromSeconds(1));

        connect.Should().Throw<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused);
    }

    [Fact]
    public void Connect_BacklogFull_ThrowsTimeoutNamingTheLimit()
    {
        var path = Path.Combine(_directory, "full.sock");
        var endpoint = new UnixDomainSocketEndPoint(path);
        using var listener = Listen(path, 1);
        var queued = new List<Socket>();
        try
        {
            while (true)
            {
                var filler = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
                queued.Add(filler);
                try
                {
                    filler.Connect(endpoint);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
                {
                    break;
                }

                queued.Count.Should().BeLessThan(64, "a Unix listener's backlog is small");
            }

            var connect = () => UnixSocketTransport.Connect(path, TimeSpan.FromMilliseconds(50));

            connect.Should().Throw<TimeoutException>().WithMessage("connect did not complete within 0.05 s");
        }
        finally
        {
            queued.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void Connect_PathTooLong_ThrowsArgumentNamingThePath()
    {
        var path = "/" + new string('x', 120);

        var connect = () => UnixSocketTransport.Connect(path, timeout: null);

        connect.Should().Throw<ArgumentException>().WithMessage($"*{path}*");
    }

    [Fact]
    public void Send_AfterDispose_ThrowsObjectDisposed()
    {
        var path = Path.Combine(_directory, "disposed.sock");
        using var listener = Listen(path, 4);
        var transport = UnixSocketTransport.Connect(path, timeout: null);
        transport.Dispose();

        var send = () => transport.Send("x"u8);

        send.Should().Throw<ObjectDisposedException>();
        transport.Abort();
    }

    private static Socket Listen(string path, int backlog)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(backlog);
        return listener;
    }
}
