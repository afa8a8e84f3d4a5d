using System.Net;
using System.Net.Sockets;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>The time-limited connect the plugin uses (non-blocking connect(2) + poll(2), no async socket engine).</summary>
public sealed class Http2GrpcConnectionConnectTests
{
    [Fact]
    public void ConnectWithin_UnixListener_ConnectsAndLeavesTheSocketBlocking()
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-h2connect-").FullName;
        try
        {
            var path = Path.Combine(directory, "ok.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

            Http2GrpcConnection.ConnectWithin(socket, new UnixDomainSocketEndPoint(path), TimeSpan.FromSeconds(5));

            socket.Connected.Should().BeTrue();
            socket.Blocking.Should().BeTrue();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ConnectWithin_UnixBacklogFull_ThrowsTimeoutNamingTheLimit()
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-h2connect-").FullName;
        var queued = new List<Socket>();
        try
        {
            var path = Path.Combine(directory, "full.sock");
            var endpoint = new UnixDomainSocketEndPoint(path);
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(endpoint);
            listener.Listen(1);
            // Fill the backlog with connections nobody accepts: the next connect(2) would block (EAGAIN when non-blocking).
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

            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var connect = () => Http2GrpcConnection.ConnectWithin(socket, endpoint, TimeSpan.FromMilliseconds(50));

            connect.Should().Throw<TimeoutException>().WithMessage("connect did not complete within 0.05 s");
            socket.Blocking.Should().BeTrue();
        }
        finally
        {
            queued.ForEach(s => s.Dispose());
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ConnectWithin_TcpListener_Connects()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);

        Http2GrpcConnection.ConnectWithin(socket, listener.LocalEndPoint!, TimeSpan.FromSeconds(5));

        socket.Connected.Should().BeTrue();
        socket.Blocking.Should().BeTrue();
    }

    [Fact]
    public void ConnectWithin_TcpNothingListening_ThrowsConnectionRefused()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var connect = () => Http2GrpcConnection.ConnectWithin(socket, new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(5));

        connect.Should().Throw<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused);
    }
}
