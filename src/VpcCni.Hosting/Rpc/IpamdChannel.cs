using System.Net.Sockets;
using Grpc.Net.Client;

namespace VpcCni.Hosting.Rpc;

/// <summary>Creates gRPC channels to the ipamd daemon over its Unix socket (or TCP for "host:port" addresses).</summary>
public static class IpamdChannel
{
    /// <summary>Upstream's default socket path.</summary>
    public const string DefaultSocketPath = "/var/run/aws-node/ipamd.sock";

    /// <summary>
    /// A channel to <paramref name="address"/>: "unix:///path", an absolute socket path, or "host:port" (plaintext HTTP/2).
    /// </summary>
    /// <summary>The Unix socket path of "unix:///path" or "/path"; null for "host:port".</summary>
    internal static string? SocketPathOf(string address) =>
        address.StartsWith("unix://", StringComparison.Ordinal) ? address["unix://".Length..]
        : address.StartsWith('/') ? address
        : null;

    public static GrpcChannel Create(string address, TimeSpan connectTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var socketPath = SocketPathOf(address);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            EnableMultipleHttp2Connections = true,
        };
        if (socketPath is not null)
        {
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        var target = socketPath is not null ? "http://localhost" : "http://" + address;
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 1024 * 1024,
            MaxSendMessageSize = 64 * 1024,
        });
    }
}
