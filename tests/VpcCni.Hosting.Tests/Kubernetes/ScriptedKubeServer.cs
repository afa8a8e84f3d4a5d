using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>One step of a scripted watch response.</summary>
internal abstract record WatchStep
{
    /// <summary>A line of the stream (a JSON watch event), flushed at once.</summary>
    public sealed record Line(string Json) : WatchStep;

    /// <summary>End the response (the server closed the watch).</summary>
    public sealed record Close : WatchStep;

    /// <summary>Keep the stream open until the client goes away.</summary>
    public sealed record Hang : WatchStep;
}

/// <summary>
/// A loopback API server whose answers the test scripts: per path, a queue of list answers (status + body) and of watch
/// streams (lines, then close or hang); PATCH and POST are recorded and answered with a minimal object. A list with no
/// scripted answer gets 503, a watch with none hangs (a quiet, healthy watch). Never reaches anything but 127.0.0.1.
/// </summary>
internal sealed class ScriptedKubeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string Body)>> _lists = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<object>> _watches = new();

    private ScriptedKubeServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request: method, path and query, content type, body.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Starts the server over HTTP, or over HTTPS as <paramref name="https"/> sets it up (certificate, client certificates).</summary>
    public static async Task<ScriptedKubeServer> StartAsync(HttpsConnectionAdapterOptions? https = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (https is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (https is not null)
            {
                listen.UseHttps(https);
            }
        }));
        var app = builder.Build();
        var server = new ScriptedKubeServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.BaseAddress = new Uri(app.Urls.First());
        return server;
    }

    public void EnqueueList(string path, string body, int status = 200) =>
        _lists.GetOrAdd(path, _ => new()).Enqueue((status, body));

    public void EnqueueWatch(string path, params WatchStep[] steps) =>
        _watches.GetOrAdd(path, _ => new()).Enqueue(steps);

    /// <summary>A watch answered with an HTTP error status (e.g. 410, 503).</summary>
    public void EnqueueWatchStatus(string path, int status, string body = "{}") =>
        _watches.GetOrAdd(path, _ => new()).Enqueue((status, body));

    public IReadOnlyList<RecordedRequest> RequestsTo(string path, string method = "GET") =>
        [.. Requests.Where(r => r.Path == path && r.Method == method)];

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var path = request.Path.Value ?? "/";
        var recorded = new RecordedRequest(request.Method, path, request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()), request.ContentType, body,
            request.Headers.Authorization.ToString(), context.Connection.ClientCertificate?.Subject);
        Requests.Enqueue(recorded);
        context.Response.ContentType = "application/json";
        if (request.Method is "PATCH")
        {
            await context.Response.WriteAsync("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + path.Split('/')[^1] + "\"}}");
            return;
        }

        if (request.Method is "POST")
        {
            context.Response.StatusCode = 201;
            await context.Response.WriteAsync(body);
            return;
        }

        if (recorded.IsWatch)
        {
            await WatchAsync(context, path);
            return;
        }

        if (_lists.TryGetValue(path, out var lists) && lists.TryDequeue(out var answer))
        {
            context.Response.StatusCode = answer.Status;
            await context.Response.WriteAsync(answer.Body);
            return;
        }

        context.Response.StatusCode = 503;
        await context.Response.WriteAsync("""{"kind":"Status","code":503,"message":"no scripted answer"}""");
    }

    private async Task WatchAsync(HttpContext context, string path)
    {
        if (!_watches.TryGetValue(path, out var queue) || !queue.TryDequeue(out var script))
        {
            script = new WatchStep[] { new WatchStep.Hang() };
        }

        if (script is ValueTuple<int, string> status)
        {
            context.Response.StatusCode = status.Item1;
            await context.Response.WriteAsync(status.Item2);
            return;
        }

        await context.Response.StartAsync();
        foreach (var step in (WatchStep[])script)
        {
            switch (step)
            {
                case WatchStep.Line line:
                    await context.Response.WriteAsync(line.Json + "\n");
                    await context.Response.Body.FlushAsync();
                    break;
                case WatchStep.Close:
                    return;
                case WatchStep.Hang:
                    try
                    {
                        await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    return;
            }
        }
    }
}

internal sealed record RecordedRequest(string Method, string Path, Dictionary<string, string> Query, string? ContentType, string Body, string Authorization,
    string? ClientCertificate = null)
{
    public bool IsWatch => Query.GetValueOrDefault("watch") is "1" or "true";
}

/// <summary>JSON of the objects the scripts serve.</summary>
internal static class KubeJson
{
    public static string Pod(string ns, string name, string rv, string node = "node-1", string? podIps = null)
    {
        var annotations = podIps is null ? "" : ",\"annotations\":{\"vpc.amazonaws.com/pod-ips\":\"" + podIps + "\"}";
        return "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns + "\",\"uid\":\"uid-" + name
            + "\",\"resourceVersion\":\"" + rv + "\"" + annotations + "},\"spec\":{\"nodeName\":\"" + node + "\"},\"status\":{\"phase\":\"Running\"}}";
    }

    public static string PodList(string rv, params string[] pods) =>
        "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"},\"items\":[" + string.Join(",", pods) + "]}";

    public static string Node(string name, string rv, string? pods)
    {
        var status = pods is null ? "{}" : "{\"capacity\":{\"pods\":\"" + pods + "\",\"cpu\":\"2\"},\"allocatable\":{\"pods\":\"" + pods + "\"}}";
        return "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" + name + "\",\"resourceVersion\":\"" + rv + "\"},\"status\":" + status + "}";
    }

    public static string NodeList(string rv, params string[] nodes) =>
        "{\"apiVersion\":\"v1\",\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"},\"items\":[" + string.Join(",", nodes) + "]}";

    public static string Event(string type, string objectJson) => "{\"type\":\"" + type + "\",\"object\":" + objectJson + "}";

    public static string Gone() => """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}""";
}
