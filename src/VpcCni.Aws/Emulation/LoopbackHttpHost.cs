using System.Net;

namespace VpcCni.Aws.Emulation;

/// <summary>
/// The emulators' HTTP server: an <see cref="HttpListener"/> on one prefix, an accept loop that hands every request to
/// <c>serve</c> on the thread pool, and a stop token for in-flight requests and streams.
/// </summary>
internal sealed class LoopbackHttpHost : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, CancellationToken, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public LoopbackHttpHost(string prefix, Func<HttpListenerContext, CancellationToken, Task> serve)
    {
        _listener.Prefixes.Add(prefix.EndsWith('/') ? prefix : prefix + "/");
        _serve = serve;
    }

    /// <summary>Cancelled when the host stops.</summary>
    public CancellationToken Stopping => _stop.Token;

    public void Start()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                continue;
            }

            _ = Task.Run(() => _serve(context, _stop.Token));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);

        // The managed listener re-resolves its port's endpoint while removing its prefixes and binds the port again if
        // that endpoint is already gone; when another listener has the freed port by then, Stop/Close throw "Address
        // already in use" although nothing is left to release (seen with emulators started and disposed in parallel).
        try
        {
            if (_listener.IsListening)
            {
                _listener.Stop();
            }
        }
        catch (HttpListenerException)
        {
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        try
        {
            _listener.Close();
        }
        catch (HttpListenerException)
        {
        }

        _stop.Dispose();
    }
}
