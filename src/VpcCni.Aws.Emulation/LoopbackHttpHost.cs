using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VpcCni.Aws.Emulation;

/// <summary>
/// The emulators' HTTP server: a bare Kestrel (no logging, configuration, routing or HTTPS; only the request delegate)
/// listening on the address of one HttpListener-style prefix, and a stop token for in-flight requests and streams.
/// Kestrel, unlike HttpListener, takes a PUT or POST without a body (IMDSv2's token request, as AWS documents it with curl).
/// </summary>
internal sealed class LoopbackHttpHost : IAsyncDisposable
{
    /// <summary>How long stopping waits for requests still running (watch streams end at once on <see cref="Stopping"/>).</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _stop = new();
    private readonly WebApplication _app;
    private readonly string _scheme;
    private readonly string _host;
    private bool _started;

    /// <param name="prefix">
    /// <c>http://HOST:PORT/</c>: HOST an IP address, <c>localhost</c>, or <c>+</c> / <c>*</c> (every address); PORT 0 picks a free port.
    /// </param>
    public LoopbackHttpHost(string prefix, Func<HttpContext, CancellationToken, Task> serve)
    {
        ArgumentNullException.ThrowIfNull(serve);
        var (scheme, host, endpoint) = ParsePrefix(prefix);
        _scheme = scheme;
        _host = host;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // A watch stream or a slow client is the point of an emulator: no minimum data rates.
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            if (endpoint is null)
            {
                kestrel.ListenLocalhost(Port(prefix, host));
            }
            else
            {
                kestrel.Listen(endpoint);
            }
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownGrace);

        // Not ConsoleLifetime: a library's server must leave SIGINT/SIGTERM to the process (it would swallow them, and
        // a program waiting on Ctrl+C or ProcessExit would never end).
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        _app = builder.Build();
        _app.Run(context => ServeAsync(context, serve));
        BaseAddress = new Uri($"{scheme}://{DisplayHost(host)}:{Port(prefix, host)}/");
    }

    /// <summary>Cancelled when the host stops.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>Where clients reach the server (<c>+</c>/<c>*</c> shown as 127.0.0.1); after <see cref="Start"/>, with the port really bound.</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>Binds and starts serving; an address in use throws an <see cref="IOException"/>.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        _app.StartAsync().GetAwaiter().GetResult();
        _started = true;
        var bound = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (bound is not null && Uri.TryCreate(bound, UriKind.Absolute, out var uri))
        {
            BaseAddress = new Uri($"{_scheme}://{DisplayHost(_host)}:{uri.Port}/");
        }
    }

    private async Task ServeAsync(HttpContext context, Func<HttpContext, CancellationToken, Task> serve)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, context.RequestAborted);
        await serve(context, linked.Token).ConfigureAwait(false);
    }

    private static (string Scheme, string Host, IPEndPoint? Endpoint) ParsePrefix(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);

        // Uri does not take '+' or '*' as a host: put a placeholder in their place to parse the rest.
        var wildcard = prefix.Contains("://+", StringComparison.Ordinal) || prefix.Contains("://*", StringComparison.Ordinal);
        var parsable = wildcard ? prefix.Replace("://+", "://wildcard.invalid", StringComparison.Ordinal).Replace("://*", "://wildcard.invalid", StringComparison.Ordinal) : prefix;
        if (!Uri.TryCreate(parsable, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/"
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException($"'{prefix}' is not an http://HOST:PORT/ prefix", nameof(prefix));
        }

        if (wildcard)
        {
            return (uri.Scheme, "+", new IPEndPoint(IPAddress.IPv6Any, uri.Port));
        }

        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            return (uri.Scheme, uri.Host, null); // localhost: both loopback addresses
        }

        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address)
            ? (uri.Scheme, uri.Host, new IPEndPoint(address, uri.Port))
            : throw new ArgumentException($"'{prefix}': the host must be an IP address, localhost, + or *", nameof(prefix));
    }

    private static int Port(string prefix, string host)
    {
        var parsable = host == "+" ? prefix.Replace("://+", "://h", StringComparison.Ordinal).Replace("://*", "://h", StringComparison.Ordinal) : prefix;
        return new Uri(parsable).Port;
    }

    private static string DisplayHost(string host) => host == "+" ? "127.0.0.1" : host;

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_started)
        {
            using var grace = new CancellationTokenSource(ShutdownGrace);
            try
            {
                await _app.StopAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Ties the server to no signal: it stops when disposed.</summary>
    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
