using System.Net;
using System.Net.Sockets;

namespace VpcCni.Hosting.Tests.DependencyInjection;

/// <summary>An HTTP server started on a free 127.0.0.1 port (retrying if another process took the port first).</summary>
internal sealed class LoopbackServer<T>(T server, string prefix) : IAsyncDisposable
    where T : IAsyncDisposable
{
    public T Server { get; } = server;

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string Prefix { get; } = prefix;

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

internal static class LoopbackServer
{
    public static async Task<LoopbackServer<T>> StartAsync<T>(Func<string, T> create, Action<T> start)
        where T : IAsyncDisposable
    {
        for (var attempt = 0; ; attempt++)
        {
            var prefix = $"http://127.0.0.1:{FreePort()}/";
            var server = create(prefix);
            try
            {
                start(server);
                return new LoopbackServer<T>(server, prefix);
            }
            catch (Exception e) when (e is HttpListenerException or IOException && attempt < 5)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
