using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// A Kubernetes API server subset over plain HTTP on loopback, for tests, the lab and embedders: the objects a node
/// agent such as aws-node uses (core/v1 nodes, pods, events, namespaces; the ENIConfig and CNINode custom resources)
/// with list, get, watch (resourceVersion, bookmarks, timeoutSeconds, 410 Expired), create, replace, patch (merge,
/// strategic, JSON patch), delete, field and label selectors, and the discovery documents kubectl needs. Each instance
/// of the simulated VPC is a Node named by its private DNS name (<see cref="NodeName"/>). Fault switches: <see cref="Available"/>,
/// <see cref="CutWatches"/>, <see cref="CompactHistory"/>, also reachable as <c>POST /emulator/kube/{down,up,cut-watches,compact}</c>.
/// See docs/kubernetes-emulator.md for what is served and what is not.
/// </summary>
public sealed class KubernetesApiEmulator : IAsyncDisposable
{
    private readonly SimulatedVpc _vpc;
    private readonly LoopbackHttpHost _host;
    private readonly KubeObjectStore _store;
    private readonly KubeApiFaults _faults = new();
    private readonly KubeApiHandler _handler;
    private readonly TimeProvider _time;

    /// <param name="prefix">
    /// Where to listen, as an HttpListener-style prefix: <c>http://127.0.0.1:6443/</c>, <c>http://+:6443/</c>; port 0
    /// takes a free port (see <see cref="BaseAddress"/>).
    /// </param>
    public KubernetesApiEmulator(SimulatedVpc vpc, string prefix, KubernetesApiEmulatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vpc);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        options ??= new KubernetesApiEmulatorOptions();
        _vpc = vpc;
        _time = options.TimeProvider ?? vpc.TimeProvider;
        prefix = prefix.EndsWith('/') ? prefix : prefix + "/";
        _host = new LoopbackHttpHost(prefix, ServeAsync);
        _store = new KubeObjectStore(_time, options.HistoryLimit);
        _handler = new KubeApiHandler(_store, _faults, _time, options.BookmarkInterval, () => BaseAddress.Authority);
        foreach (var ns in (ReadOnlySpan<string>)["default", "kube-system"])
        {
            _store.Create(KubeResource.Namespaces, new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Namespace",
                ["metadata"] = new JsonObject { ["name"] = ns },
                ["status"] = new JsonObject { ["phase"] = "Active" },
            });
        }

        if (options.RegisterInstancesAsNodes)
        {
            foreach (var instance in vpc.Instances)
            {
                AddNode(instance);
            }
        }
    }

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:6443/</c> (kubectl's <c>--server</c>); after <see cref="Start"/>, with the port really bound.</summary>
    public Uri BaseAddress => _host.BaseAddress;

    /// <summary>The latest resourceVersion.</summary>
    public long ResourceVersion => _store.ResourceVersion;

    /// <summary>Open watch streams.</summary>
    public int WatchCount => _store.Watchers.Count;

    /// <summary>False: every API call gets 503 ServiceUnavailable (setting it also cuts the open watches); true again restores service.</summary>
    public bool Available
    {
        get => _faults.Available;
        set
        {
            _faults.Available = value;
            if (!value)
            {
                _store.Watchers.CutAll();
            }
        }
    }

    /// <summary>Closes every open watch stream (clients see the stream end and must re-watch).</summary>
    public void CutWatches() => _store.Watchers.CutAll();

    /// <summary>Forgets the change history: a watch from any earlier resourceVersion gets ERROR 410 Expired.</summary>
    public void CompactHistory() => _store.Compact();

    /// <summary>The node name of an instance: its private DNS name, <c>ip-10-0-1-5.REGION.compute.internal</c> (<c>.ec2.internal</c> in us-east-1).</summary>
    public string NodeName(SimulatedInstance instance) => KubeNodeFactory.NodeName(instance, _vpc.Options.Region);

    /// <summary>
    /// Registers <paramref name="instance"/> as a Node (labels hostname, zone, region, instance type; InternalIP;
    /// capacity and allocatable <c>pods</c> = <paramref name="maxPods"/> or the type's eni-max-pods figure). Returns its name.
    /// </summary>
    public string AddNode(SimulatedInstance instance, int? maxPods = null)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var node = KubeNodeFactory.Create(instance, _vpc.Options.Region, _time, maxPods);
        _store.Create(KubeResource.Nodes, node);
        return NodeName(instance);
    }

    /// <summary>Sets a node's <c>pods</c> capacity and allocatable (e.g. raised for prefix delegation).</summary>
    public void SetNodePodCapacity(string nodeName, int pods)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pods);
        _store.Update(KubeResource.Nodes, null, nodeName, node =>
        {
            var status = node["status"] as JsonObject ?? new JsonObject();
            node["status"] = status;
            foreach (var field in (ReadOnlySpan<string>)["capacity", "allocatable"])
            {
                var resources = status[field] as JsonObject ?? new JsonObject();
                resources["pods"] = pods.ToString(System.Globalization.CultureInfo.InvariantCulture);
                status[field] = resources;
            }

            return node;
        });
    }

    /// <summary>
    /// Creates or replaces a pod scheduled to <paramref name="nodeName"/> (status Running with <paramref name="podIp"/>
    /// as podIP/podIPs when given), as the scheduler and kubelet would. Returns its resourceVersion.
    /// </summary>
    public string PutPod(
        string @namespace,
        string name,
        string nodeName,
        IPAddress? podIp = null,
        IReadOnlyDictionary<string, string>? labels = null,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var status = new JsonObject { ["phase"] = "Running" };
        if (podIp is not null)
        {
            status["podIP"] = podIp.ToString();
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp.ToString() });
        }

        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = @namespace,
                ["labels"] = Map(labels),
                ["annotations"] = Map(annotations),
            },
            ["spec"] = new JsonObject
            {
                ["nodeName"] = nodeName,
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "registry.invalid/app:1" }),
            },
            ["status"] = status,
        };
        var stored = _store.TryGet(KubeResource.Pods, @namespace, name, out _)
            ? _store.Update(KubeResource.Pods, @namespace, name, _ => pod)
            : _store.Create(KubeResource.Pods, pod);
        return KubeObjectStore.Str(stored["metadata"]!["resourceVersion"])!;
    }

    /// <summary>Deletes a pod; false when there was none.</summary>
    public bool DeletePod(string @namespace, string name)
    {
        try
        {
            _store.Delete(KubeResource.Pods, @namespace, name);
            return true;
        }
        catch (KubeApiException e) when (e.Code == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates or replaces any served object given as JSON (e.g. an ENIConfig); invalid objects throw
    /// <see cref="ArgumentException"/> with the API server's message. Returns the stored object as JSON.
    /// </summary>
    public string Apply(string objectJson)
    {
        try
        {
            var obj = KubeValidation.ParseBody(objectJson);
            var apiVersion = KubeObjectStore.Str(obj["apiVersion"]);
            var kind = KubeObjectStore.Str(obj["kind"]);
            var resource = KubeResource.All.FirstOrDefault(r => r.ApiVersion == apiVersion && r.Kind == kind)
                ?? throw KubeApiException.BadRequest($"no served resource has apiVersion {apiVersion} and kind {kind}");
            KubeValidation.Validate(resource, obj);
            var ns = resource.Namespaced ? KubeObjectStore.NamespaceOf(obj) ?? "default" : null;
            if (ns is not null)
            {
                obj["metadata"]!["namespace"] = ns;
            }

            var name = KubeObjectStore.Str(obj["metadata"]?["name"]) ?? "";
            var stored = _store.TryGet(resource, ns, name, out _)
                ? _store.Update(resource, ns, name, _ => obj)
                : _store.Create(resource, obj);
            return stored.ToJsonString();
        }
        catch (KubeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(objectJson), e);
        }
    }

    /// <summary>An object as JSON, or null: <paramref name="plural"/> is the resource (nodes, pods, events, eniconfigs, cninodes, namespaces).</summary>
    public string? GetJson(string plural, string? @namespace, string name)
    {
        var resource = KubeResource.All.FirstOrDefault(r => r.Plural == plural)
            ?? throw new ArgumentException($"'{plural}' is not a served resource", nameof(plural));
        return _store.TryGet(resource, resource.Namespaced ? @namespace : null, name, out var obj) ? obj!.ToJsonString() : null;
    }

    /// <summary>Answers every request for <paramref name="plural"/> (e.g. <c>eniconfigs</c>) with 403 Forbidden while
    /// <paramref name="forbidden"/> is true, as a ClusterRole without that resource would.</summary>
    public void SetForbidden(string plural, bool forbidden)
    {
        ArgumentNullException.ThrowIfNull(plural);
        if (KubeResource.All.All(r => r.Plural != plural))
        {
            throw new ArgumentException($"'{plural}' is not a served resource", nameof(plural));
        }

        _faults.SetForbidden(plural, forbidden);
    }

    /// <summary>Every object of <paramref name="plural"/> (in <paramref name="namespace"/>, or all namespaces when null), as JSON.</summary>
    public IReadOnlyList<string> ListJson(string plural, string? @namespace)
    {
        var resource = KubeResource.All.FirstOrDefault(r => r.Plural == plural)
            ?? throw new ArgumentException($"'{plural}' is not a served resource", nameof(plural));
        return [.. _store.List(resource, resource.Namespaced ? @namespace : null).Items.Select(o => o.ToJsonString())];
    }

    /// <summary>Binds and starts serving; an address in use throws an <see cref="IOException"/>.</summary>
    public void Start() => _host.Start();

    private async Task ServeAsync(HttpContext context, CancellationToken stopping)
    {
        try
        {
            await _handler.ServeAsync(context, stopping).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The emulator must answer every request, whatever went wrong.
        catch (Exception e)
#pragma warning restore CA1031
        {
            try
            {
                if (context.Response.HasStarted)
                {
                    context.Abort(); // mid-stream: a status can no longer be sent
                    return;
                }

                var bytes = System.Text.Encoding.UTF8.GetBytes(KubeStatus.Failure(500, "InternalError", "emulator failure: " + e.Message).ToJsonString());
                context.Response.StatusCode = 500;
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = bytes.Length;
                await context.Response.Body.WriteAsync(bytes, CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031
            catch (Exception)
#pragma warning restore CA1031
            {
                context.Abort();
            }
        }
    }

    private static JsonObject Map(IReadOnlyDictionary<string, string>? values)
    {
        var map = new JsonObject();
        foreach (var (k, v) in values ?? new Dictionary<string, string>())
        {
            map[k] = v;
        }

        return map;
    }

    public async ValueTask DisposeAsync()
    {
        _store.Watchers.CutAll();
        await _host.DisposeAsync().ConfigureAwait(false);
    }
}
