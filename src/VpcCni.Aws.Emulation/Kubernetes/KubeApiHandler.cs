using System.Collections.Specialized;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;
using Microsoft.AspNetCore.Http;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// The HTTP side of the emulated API server: routes discovery, the resource paths
/// (<c>/api/v1[/namespaces/NS]/PLURAL[/NAME[/status]]</c> and <c>/apis/GROUP/VERSION/...</c>) and the admin switches
/// (<c>/emulator/kube/...</c>) to the store, and streams watches. Errors are <c>meta/v1 Status</c> objects.
/// </summary>
internal sealed class KubeApiHandler(KubeObjectStore store, KubeApiFaults faults, TimeProvider time, TimeSpan bookmarkInterval, Func<string> serverAddress)
{
    public const int MaxBodyBytes = 3 * 1024 * 1024;

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public async Task ServeAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var response = context.Response;
        // Escaped, as on the wire: Route unescapes each segment itself.
        var path = request.Path.ToUriComponent().TrimEnd('/');
        var query = HttpUtility.ParseQueryString(request.QueryString.Value ?? "");
        JsonObject body;
        int code;
        try
        {
            if (path.StartsWith("/emulator/kube/", StringComparison.Ordinal))
            {
                (code, body) = Admin(request.Method, path["/emulator/kube/".Length..]);
            }
            else if (!faults.Available)
            {
                (code, body) = (503, KubeStatus.Failure(503, "ServiceUnavailable", "the Kubernetes API emulator is down (fault switch)"));
            }
            else if (Route(path) is { } denied && faults.IsForbidden(denied.Resource.Plural))
            {
                (code, body) = (403, Forbidden(denied, request.Method, IsWatch(request.Method, query)));
            }
            else if (path == "/openapi/v2" && request.Method == "GET"
                && request.Headers.Accept.ToString().Contains("protobuf", StringComparison.Ordinal))
            {
                await WriteBytesAsync(context, 200, KubeOpenApi.V2ProtobufMediaType, KubeOpenApi.V2Protobuf(), cancellationToken).ConfigureAwait(false);
                return;
            }
            else if (IsWatch(request.Method, query) && Route(path) is { } watched && watched.Name is null)
            {
                await WatchAsync(context, watched, query, cancellationToken).ConfigureAwait(false);
                return;
            }
            else
            {
                (code, body) = await HandleAsync(request, path, query, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KubeApiException e)
        {
            (code, body) = (e.Code, e.ToStatus());
        }

        await WriteAsync(context, code, body, cancellationToken).ConfigureAwait(false);
    }

    private (int, JsonObject) Admin(string method, string action)
    {
        if (method != "POST")
        {
            return (405, KubeStatus.Failure(405, "MethodNotAllowed", "admin switches take POST"));
        }

        switch (action)
        {
            case "down":
                faults.Available = false;
                store.Watchers.CutAll();
                break;
            case "up":
                faults.Available = true;
                break;
            case "cut-watches":
                store.Watchers.CutAll();
                break;
            case "compact":
                store.Compact();
                break;
            default:
                return (404, KubeStatus.Failure(404, "NotFound", $"no admin switch '{action}': down, up, cut-watches, compact"));
        }

        return (200, new JsonObject { ["ok"] = true, ["action"] = action, ["resourceVersion"] = KubeObjectStore.Rv(store.ResourceVersion) });
    }

    /// <summary>The API server's RBAC refusal, worded as it words it (the caller is the anonymous user here).</summary>
    private static JsonObject Forbidden(Target target, string method, bool watch)
    {
        var verb = (method, target.Name, watch) switch
        {
            ("GET", _, true) => "watch",
            ("GET", null, _) => "list",
            ("GET", _, _) => "get",
            ("POST", _, _) => "create",
            ("PATCH", _, _) => "patch",
            ("PUT", _, _) => "update",
            ("DELETE", _, _) => "delete",
            _ => method.ToLowerInvariant(),
        };
        var resource = target.Resource;
        var scope = target.Namespace is null ? "at the cluster scope" : $"in the namespace \"{target.Namespace}\"";
        var what = target.Name is null ? resource.Plural + resource.GroupSuffix : $"{resource.Plural}{resource.GroupSuffix} \"{target.Name}\"";
        return KubeStatus.Failure(403, "Forbidden",
            $"{what} is forbidden: User \"system:anonymous\" cannot {verb} resource \"{resource.Plural}\" in API group \"{resource.Group}\" {scope}");
    }

    private static bool IsWatch(string method, NameValueCollection query) =>
        method == "GET" && query["watch"] is "true" or "1";

    private async Task<(int, JsonObject)> HandleAsync(HttpRequest request, string path, NameValueCollection query, CancellationToken cancellationToken)
    {
        switch (path)
        {
            case "/version":
                return (200, KubeDiscovery.Version());
            case "/api":
                return (200, KubeDiscovery.CoreVersions(serverAddress()));
            case "/apis":
                return (200, KubeDiscovery.GroupList());
            case "/healthz" or "/livez" or "/readyz":
                return (200, new JsonObject { ["status"] = "ok" });
            case "/openapi/v3":
                return (200, KubeOpenApi.Root());
            case "/openapi/v2":
                return (200, KubeOpenApi.V2Json());
        }

        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal) && KubeOpenApi.GroupVersion(path["/openapi/v3/".Length..]) is { } openApi)
        {
            return (200, openApi);
        }

        if (Route(path) is not { } target)
        {
            var discovery = DiscoveryFor(path);
            return discovery is null
                ? (404, KubeStatus.Failure(404, "NotFound", "the server could not find the requested resource"))
                : (200, discovery);
        }

        var (resource, ns, name, _) = target;
        switch (request.Method, name)
        {
            case ("GET", null):
                return (200, List(resource, ns, query));
            case ("GET", { } getName):
                return (200, store.Get(resource, ns, getName));
            case ("POST", null):
            {
                var obj = KubeValidation.ParseBody(await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false));
                KubeValidation.Validate(resource, obj);
                PlaceInNamespace(resource, obj, ns);
                GenerateName(obj);
                return (201, store.Create(resource, obj));
            }

            case ("PUT", { } putName):
            {
                var obj = KubeValidation.ParseBody(await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false));
                KubeValidation.Validate(resource, obj);
                PlaceInNamespace(resource, obj, ns);
                return (200, store.Update(resource, ns, putName, _ => obj));
            }

            case ("PATCH", { } patchName):
            {
                var contentType = (request.ContentType ?? "").Split(';')[0].Trim();
                var text = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
                JsonNode? patch;
                try
                {
                    patch = JsonNode.Parse(text);
                }
                catch (System.Text.Json.JsonException e)
                {
                    throw KubeApiException.BadRequest("the patch could not be decoded: " + e.Message);
                }

                return (200, store.Update(resource, ns, patchName, current =>
                {
                    var patched = KubePatch.Apply(contentType, current, patch);
                    KubeValidation.Validate(resource, patched);
                    return patched;
                }));
            }

            case ("DELETE", null):
            {
                var (items, _) = store.List(resource, ns);
                var deleted = new JsonArray();
                foreach (var item in items.Where(Selector(query)))
                {
                    deleted.Add((JsonNode)store.Delete(resource, ns, KubeObjectStore.Str(item["metadata"]!["name"])!));
                }

                return (200, ListBody(resource, deleted, store.ResourceVersion));
            }

            case ("DELETE", { } deleteName):
            {
                string? uid = null, rv = null;
                var text = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
                if (!string.IsNullOrWhiteSpace(text) && KubeValidation.ParseBody(text)["preconditions"] is JsonObject preconditions)
                {
                    uid = KubeObjectStore.Str(preconditions["uid"]);
                    rv = KubeObjectStore.Str(preconditions["resourceVersion"]);
                }

                var gone = store.Delete(resource, ns, deleteName, uid, rv);

                // Pods and custom resources answer with the deleted object; other built-in kinds with a Status.
                return resource == KubeResource.Pods || resource.Group.Length > 0
                    ? (200, gone)
                    : (200, KubeStatus.Success(resource, deleteName, KubeObjectStore.Str(gone["metadata"]!["uid"])));
            }

            default:
                return (405, KubeStatus.Failure(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource"));
        }
    }

    private JsonObject List(KubeResource resource, string? ns, NameValueCollection query)
    {
        var (items, rv) = store.List(resource, ns);
        return ListBody(resource, new JsonArray(items.Where(Selector(query)).Select(i => (JsonNode)i).ToArray()), rv);
    }

    private static JsonObject ListBody(KubeResource resource, JsonArray items, long rv) => new()
    {
        ["kind"] = resource.ListKind,
        ["apiVersion"] = resource.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = KubeObjectStore.Rv(rv) },
        ["items"] = items,
    };

    private static Func<JsonObject, bool> Selector(NameValueCollection query)
    {
        var labels = KubeLabelSelector.Parse(query["labelSelector"]);
        var fields = KubeFieldSelector.Parse(query["fieldSelector"]);
        return o => labels.Matches(o) && fields.Matches(o);
    }

    private async Task WatchAsync(HttpContext context, Target target, NameValueCollection query, CancellationToken cancellationToken)
    {
        var matches = Selector(query);
        var bookmarks = query["allowWatchBookmarks"] is "true" or "1";
        DateTimeOffset? deadline = int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0
            ? time.GetUtcNow().AddSeconds(seconds)
            : null;
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        KubeWatchSubscription subscription;
        try
        {
            subscription = store.Watch(target.Resource, target.Namespace, query["resourceVersion"]);
        }
        catch (KubeApiException e)
        {
            // The API server answers a watch from a compacted version with 200 and one ERROR event (410 Expired).
            try
            {
                await WriteEventAsync(response, "ERROR", e.ToStatus(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception write) when (write is IOException or ObjectDisposedException or OperationCanceledException)
            {
                context.Abort();
            }

            return;
        }

        using (subscription)
        {
            try
            {
                var sent = subscription.StartResourceVersion;
                foreach (var e in subscription.Initial)
                {
                    await SendAsync(e).ConfigureAwait(false);
                }

                // Headers go out now, so that a client sees the watch open even while nothing changes.
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                var nextBookmark = time.GetUtcNow() + bookmarkInterval;
                var reader = subscription.Events.Reader;
                while (!cancellationToken.IsCancellationRequested)
                {
                    var now = time.GetUtcNow();
                    if (deadline is { } d && now >= d)
                    {
                        break;
                    }

                    var wake = bookmarks ? nextBookmark : now + TimeSpan.FromHours(1);
                    if (deadline is { } d2 && d2 < wake)
                    {
                        wake = d2;
                    }

                    using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var readable = reader.WaitToReadAsync(waitCts.Token).AsTask();
                    var delay = Task.Delay(wake > now ? wake - now : TimeSpan.Zero, time, waitCts.Token);
                    var first = await Task.WhenAny(readable, delay).ConfigureAwait(false);
                    await waitCts.CancelAsync().ConfigureAwait(false);
                    if (first == readable)
                    {
                        if (!readable.IsCompletedSuccessfully || !readable.Result)
                        {
                            break; // cut, or the server stops
                        }

                        while (reader.TryRead(out var e))
                        {
                            await SendAsync(e).ConfigureAwait(false);
                            sent = Math.Max(sent, e.ResourceVersion);
                        }
                    }
                    else if (bookmarks && time.GetUtcNow() >= nextBookmark)
                    {
                        var bookmark = new JsonObject
                        {
                            ["kind"] = target.Resource.Kind,
                            ["apiVersion"] = target.Resource.ApiVersion,
                            ["metadata"] = new JsonObject { ["resourceVersion"] = KubeObjectStore.Rv(sent) },
                        };
                        await WriteEventAsync(response, "BOOKMARK", bookmark, cancellationToken).ConfigureAwait(false);
                        nextBookmark = time.GetUtcNow() + bookmarkInterval;
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
                context.Abort();
            }
        }

        async Task SendAsync(KubeWatchEvent e)
        {
            var now = matches(e.Object);
            var before = e.Previous is not null && matches(e.Previous);
            var type = (e.Type, before, now) switch
            {
                ("MODIFIED", false, true) => "ADDED",
                ("MODIFIED", true, false) => "DELETED",
                ("MODIFIED", false, false) => null,
                ("DELETED", _, _) when before || now => "DELETED",
                ("ADDED", _, true) => "ADDED",
                ("MODIFIED", true, true) => "MODIFIED",
                _ => null,
            };
            if (type is not null)
            {
                await WriteEventAsync(response, type, e.Object, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, string type, JsonObject obj, CancellationToken cancellationToken)
    {
        var line = Encoding.UTF8.GetBytes(new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString());
        var buffer = new byte[line.Length + 1];
        line.CopyTo(buffer, 0);
        buffer[^1] = NewLine[0];
        await response.Body.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, int code, JsonObject body, CancellationToken cancellationToken) =>
        WriteBytesAsync(context, code, "application/json", Encoding.UTF8.GetBytes(body.ToJsonString()), cancellationToken);

    private static async Task WriteBytesAsync(HttpContext context, int code, string contentType, byte[] bytes, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            response.StatusCode = code;
            response.ContentType = contentType;
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            context.Abort();
        }
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new KubeApiException(413, "RequestEntityTooLarge", $"the request body is larger than {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw new KubeApiException(413, "RequestEntityTooLarge", $"the request body is larger than {MaxBodyBytes} bytes");
            }
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void PlaceInNamespace(KubeResource resource, JsonObject obj, string? ns)
    {
        if (!resource.Namespaced || obj["metadata"] is not JsonObject meta)
        {
            return;
        }

        var given = KubeObjectStore.Str(meta["namespace"]);
        if (!string.IsNullOrEmpty(given) && given != ns)
        {
            throw KubeApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        meta["namespace"] = ns;
    }

    private static void GenerateName(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject meta && string.IsNullOrEmpty(KubeObjectStore.Str(meta["name"]))
            && KubeObjectStore.Str(meta["generateName"]) is { Length: > 0 } prefix)
        {
            const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
            var suffix = new string(Enumerable.Range(0, 5).Select(_ => alphabet[Random.Shared.Next(alphabet.Length)]).ToArray());
            meta["name"] = prefix + suffix;
        }
    }

    private static JsonObject? DiscoveryFor(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts switch
        {
            ["api", var v] => KubeDiscovery.Resources("", v),
            ["apis", var g] => KubeDiscovery.Group(g),
            ["apis", var g, var v] => KubeDiscovery.Resources(g, v),
            _ => null,
        };
    }

    /// <summary>A resource path: the resource, its namespace (null: all, or cluster-scoped), the object's name, the subresource.</summary>
    private sealed record Target(KubeResource Resource, string? Namespace, string? Name, string? Subresource);

    private static Target? Route(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        string group, version;
        string[] rest;
        if (parts is ["api", var v, ..])
        {
            (group, version, rest) = ("", v, parts[2..]);
        }
        else if (parts is ["apis", var g, var gv, ..])
        {
            (group, version, rest) = (g, gv, parts[3..]);
        }
        else
        {
            return null;
        }

        KubeResource? Find(string plural) => KubeResource.All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);
        string? ns = null;
        if (rest is ["namespaces", var n, var plural, ..] && Find(plural) is { Namespaced: true })
        {
            ns = n;
            rest = rest[2..];
        }

        if (rest.Length is 0 or > 3 || Find(rest[0]) is not { } resource)
        {
            return null;
        }

        if (ns is null && resource.Namespaced && rest.Length > 1)
        {
            return null; // a namespaced object needs /namespaces/NS/ in its path
        }

        var sub = rest.Length == 3 ? rest[2] : null;
        if (sub is not null and not "status")
        {
            return null;
        }

        return new Target(resource, ns, rest.Length > 1 ? rest[1] : null, sub);
    }
}
