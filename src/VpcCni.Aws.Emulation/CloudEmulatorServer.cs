using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Emulation;

/// <summary>
/// Serves a <see cref="SimulatedVpc"/> over HTTP (Kestrel): the EC2 Query API (form-encoded POST /, or GET /?Action=…)
/// and IMDS (/latest/...; IMDSv2 tokens). docs/cloud-emulator.md lists what is answered.
/// Which instance an IMDS request is for: (1) a path prefix <c>/node/&lt;n&gt;/latest/…</c> (0-based, in launch
/// order) or <c>/instance/&lt;i-…&gt;/latest/…</c>, handy on loopback; else (2) the request's source address,
/// matched against each instance's primary private IPv4 and <see cref="MapSourceAddress"/> (what a node in a
/// network namespace reaching 169.254.169.254 uses); else (3) the only instance, when there is one.
/// Never throws on bad input: errors are EC2 error documents (or plain 4xx for IMDS).
/// </summary>
public sealed class CloudEmulatorServer : IAsyncDisposable
{
    /// <summary>Largest request body accepted (EC2 rejects large query requests too).</summary>
    public const int MaxBodyBytes = 256 * 1024;

    private readonly SimulatedVpc _vpc;
    private readonly LoopbackHttpHost _host;
    private readonly Ec2QueryApi _ec2;
    private readonly ImdsApi _imds;
    private readonly Dictionary<IPAddress, string> _sourceMap = [];
    private readonly Lock _mapLock = new();

    /// <param name="prefix">
    /// Where to listen, as an HttpListener-style prefix: <c>http://127.0.0.1:8181/</c>, <c>http://localhost:8181/</c>,
    /// <c>http://+:80/</c> (every address); port 0 takes a free port (see <see cref="BaseAddress"/>).
    /// </param>
    public CloudEmulatorServer(SimulatedVpc vpc, string prefix)
    {
        ArgumentNullException.ThrowIfNull(vpc);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        _vpc = vpc;
        _ec2 = new Ec2QueryApi(vpc);
        _imds = new ImdsApi(vpc);
        _host = new LoopbackHttpHost(prefix, ServeAsync);
    }

    /// <summary>Requests handled so far.</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    private long _requests;

    /// <summary>Routes IMDS requests from <paramref name="source"/> to <paramref name="instanceId"/>.</summary>
    public void MapSourceAddress(IPAddress source, string instanceId)
    {
        lock (_mapLock)
        {
            _sourceMap[source] = instanceId;
        }
    }

    /// <summary>Where clients reach the server, e.g. <c>http://127.0.0.1:8181/</c>; after <see cref="Start"/>, with the port really bound.</summary>
    public Uri BaseAddress => _host.BaseAddress;

    /// <summary>Binds and starts serving; an address in use throws an <see cref="IOException"/>.</summary>
    public void Start() => _host.Start();

    private async Task ServeAsync(HttpContext context, CancellationToken stopping)
    {
        Interlocked.Increment(ref _requests);
        EmulatorResponse response;
        try
        {
            response = await RouteAsync(context, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            context.Abort(); // the client went away or the server stops: nobody to answer
            return;
        }
#pragma warning disable CA1031 // The emulator must answer every request, whatever went wrong.
        catch (Exception e)
#pragma warning restore CA1031
        {
            response = Ec2QueryApi.Error(Ec2ErrorCodes.InternalError, "emulator failure: " + e.Message, "00000000-0000-4000-8000-000000000000");
        }

        var http = context.Response;
        if (response.AbortConnection)
        {
            // A lost reply: the request was carried out, and the connection breaks in the middle of the answer (the
            // client sees a premature end of the response, as when a connection is reset).
            try
            {
                http.StatusCode = 200;
                http.ContentType = "text/xml;charset=UTF-8";
                http.ContentLength = 4096;
                await http.Body.WriteAsync("<?xml"u8.ToArray(), stopping).ConfigureAwait(false);
                await http.Body.FlushAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
            }

            context.Abort();
            return;
        }

        try
        {
            var bytes = Encoding.UTF8.GetBytes(response.Body);
            http.StatusCode = response.Status;
            http.ContentType = response.ContentType;
            foreach (var (name, value) in response.Headers)
            {
                http.Headers[name] = value;
            }

            http.ContentLength = bytes.Length;
            await http.Body.WriteAsync(bytes, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            context.Abort();
        }
    }

    private async Task<EmulatorResponse> RouteAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var method = request.Method;
        var path = request.Path.HasValue ? request.Path.Value! : "/";
        string? instanceId = null;
        if (path.StartsWith("/node/", StringComparison.Ordinal) || path.StartsWith("/instance/", StringComparison.Ordinal))
        {
            var parts = path.Split('/', 4);
            if (parts.Length < 4)
            {
                return new EmulatorResponse(404, "text/plain", "Not Found");
            }

            var instances = _vpc.Instances;
            instanceId = parts[1] == "node"
                ? int.TryParse(parts[2], out var n) && n >= 0 && n < instances.Count ? instances[n].InstanceId : null
                : instances.FirstOrDefault(i => i.InstanceId == parts[2])?.InstanceId;
            if (instanceId is null)
            {
                return new EmulatorResponse(404, "text/plain", $"no such node '{parts[2]}'");
            }

            path = "/" + parts[3];
        }

        if (path.StartsWith("/latest/", StringComparison.Ordinal) || path == "/latest")
        {
            instanceId ??= InstanceFor(context.Connection.RemoteIpAddress);
            if (instanceId is null)
            {
                return new EmulatorResponse(404, "text/plain",
                    "several nodes: reach IMDS from a node's primary address, a mapped source address, or under /node/<n>/latest/...");
            }

            return _imds.Handle(method, path, name => request.Headers.TryGetValue(name, out var v) ? v.ToString() : null, instanceId);
        }

        if (method != "POST" && method != "GET")
        {
            return Ec2QueryApi.Error(Ec2ErrorCodes.InvalidAction, $"HTTP method {method} is not supported", "-");
        }

        // The query string counts for GET and POST alike (EC2 takes the parameters in either); a POST body adds to it.
        var form = request.QueryString.HasValue ? Ec2QueryApi.ParseForm(request.QueryString.Value!) : new Dictionary<string, string>(StringComparer.Ordinal);
        if (method == "POST")
        {
            if (request.ContentLength > MaxBodyBytes)
            {
                return Ec2QueryApi.Error(Ec2ErrorCodes.RequestTooLarge, $"Request body larger than {MaxBodyBytes} bytes", "-");
            }

            var buffer = new byte[MaxBodyBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            if (total > MaxBodyBytes)
            {
                return Ec2QueryApi.Error(Ec2ErrorCodes.RequestTooLarge, $"Request body larger than {MaxBodyBytes} bytes", "-");
            }

            foreach (var (key, value) in Ec2QueryApi.ParseForm(Encoding.UTF8.GetString(buffer, 0, total)))
            {
                form[key] = value;
            }
        }

        return await _ec2.HandleAsync(form, cancellationToken).ConfigureAwait(false);
    }

    private string? InstanceFor(IPAddress? source)
    {
        var instances = _vpc.Instances;
        if (source is not null)
        {
            if (source.IsIPv4MappedToIPv6)
            {
                source = source.MapToIPv4();
            }

            lock (_mapLock)
            {
                if (_sourceMap.TryGetValue(source, out var mapped))
                {
                    return mapped;
                }
            }

            var byAddress = instances.FirstOrDefault(i => i.PrivateIPv4.Equals(source));
            if (byAddress is not null)
            {
                return byAddress.InstanceId;
            }
        }

        return instances.Count == 1 ? instances[0].InstanceId : null;
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
