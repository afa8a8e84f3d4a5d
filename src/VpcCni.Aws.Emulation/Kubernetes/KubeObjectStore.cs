using System.Globalization;
using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// The objects of the emulated API server, as JSON: one global, monotonically increasing resourceVersion (etcd's
/// revision), per-object <c>metadata.resourceVersion</c>, <c>uid</c> and <c>creationTimestamp</c>, and a bounded
/// history of changes that watches resume from. A watch from a version older than the kept history is refused with
/// 410 Expired, as the real server does after etcd compaction. Objects handed out are copies.
/// </summary>
internal sealed class KubeObjectStore
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly int _historyLimit;
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    private readonly Queue<KubeWatchEvent> _history = new();
    private long _resourceVersion;
    private long _compactedThrough;
    private long _uidCounter;

    public KubeObjectStore(TimeProvider time, int historyLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyLimit, 1);
        _time = time;
        _historyLimit = historyLimit;
    }

    public KubeWatchHub Watchers { get; } = new();

    /// <summary>The latest resourceVersion (what a list reports).</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    public JsonObject Create(KubeResource resource, JsonObject obj)
    {
        lock (_lock)
        {
            var (ns, name) = Identity(resource, obj);
            var bucket = Bucket(resource);
            var key = Key(ns, name);
            if (bucket.ContainsKey(key))
            {
                throw KubeApiException.AlreadyExists(resource, name);
            }

            var meta = (JsonObject)obj["metadata"]!;
            var rv = ++_resourceVersion;
            meta["uid"] = NewUid();
            meta["creationTimestamp"] = Timestamp(_time.GetUtcNow());
            meta["resourceVersion"] = Rv(rv);
            meta.Remove("deletionTimestamp");
            var stored = (JsonObject)obj.DeepClone();
            bucket[key] = stored;
            Record(new KubeWatchEvent("ADDED", resource, stored, null, rv));
            return (JsonObject)stored.DeepClone();
        }
    }

    public JsonObject Get(KubeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            return Bucket(resource).TryGetValue(Key(ns, name), out var o)
                ? (JsonObject)o.DeepClone()
                : throw KubeApiException.NotFound(resource, name);
        }
    }

    public bool TryGet(KubeResource resource, string? ns, string name, out JsonObject? obj)
    {
        lock (_lock)
        {
            obj = Bucket(resource).TryGetValue(Key(ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
            return obj is not null;
        }
    }

    /// <summary>Copies of the objects (of one namespace, or all when <paramref name="ns"/> is null), and the list's resourceVersion.</summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion) List(KubeResource resource, string? ns)
    {
        lock (_lock)
        {
            var items = Bucket(resource).Values
                .Where(o => ns is null || NamespaceOf(o) == ns)
                .Select(o => (JsonObject)o.DeepClone())
                .ToList();
            return (items, _resourceVersion);
        }
    }

    /// <summary>
    /// Replaces an object with <paramref name="update"/>'s result (PUT, or a patch applied to the current object).
    /// A resourceVersion in the new object different from the stored one is a stale write: 409 Conflict. Identity
    /// fields (uid, creationTimestamp) are kept; an update that changes nothing keeps the resourceVersion and sends no
    /// event, as the real server does.
    /// </summary>
    public JsonObject Update(KubeResource resource, string? ns, string name, Func<JsonObject, JsonObject> update)
    {
        lock (_lock)
        {
            var bucket = Bucket(resource);
            var key = Key(ns, name);
            if (!bucket.TryGetValue(key, out var current))
            {
                throw KubeApiException.NotFound(resource, name);
            }

            var next = update((JsonObject)current.DeepClone());
            var (newNs, newName) = Identity(resource, next);
            if (newName != name || newNs != ns)
            {
                throw KubeApiException.BadRequest($"the name of the object ({newName}) does not match the name on the URL ({name})");
            }

            var meta = (JsonObject)next["metadata"]!;
            var currentMeta = (JsonObject)current["metadata"]!;
            var given = Str(meta["resourceVersion"]);
            if (!string.IsNullOrEmpty(given) && given != Str(currentMeta["resourceVersion"]))
            {
                throw KubeApiException.Conflict(resource, name);
            }

            meta["uid"] = currentMeta["uid"]?.DeepClone();
            meta["creationTimestamp"] = currentMeta["creationTimestamp"]?.DeepClone();
            meta["resourceVersion"] = currentMeta["resourceVersion"]?.DeepClone();
            if (JsonNode.DeepEquals(next, current))
            {
                return (JsonObject)current.DeepClone();
            }

            var rv = ++_resourceVersion;
            meta["resourceVersion"] = Rv(rv);
            var stored = (JsonObject)next.DeepClone();
            bucket[key] = stored;
            Record(new KubeWatchEvent("MODIFIED", resource, stored, current, rv));
            return (JsonObject)stored.DeepClone();
        }
    }

    /// <summary>Deletes at once (there is no kubelet to finish a graceful deletion); optional uid/resourceVersion preconditions.</summary>
    public JsonObject Delete(KubeResource resource, string? ns, string name, string? preconditionUid = null, string? preconditionResourceVersion = null)
    {
        lock (_lock)
        {
            var bucket = Bucket(resource);
            var key = Key(ns, name);
            if (!bucket.TryGetValue(key, out var current))
            {
                throw KubeApiException.NotFound(resource, name);
            }

            var meta = (JsonObject)current["metadata"]!;
            if ((preconditionUid is not null && preconditionUid != Str(meta["uid"]))
                || (preconditionResourceVersion is not null && preconditionResourceVersion != Str(meta["resourceVersion"])))
            {
                throw KubeApiException.Conflict(resource, name);
            }

            bucket.Remove(key);
            var rv = ++_resourceVersion;
            var deleted = (JsonObject)current.DeepClone();
            deleted["metadata"]!["resourceVersion"] = Rv(rv);
            Record(new KubeWatchEvent("DELETED", resource, deleted, current, rv));
            return (JsonObject)deleted.DeepClone();
        }
    }

    /// <summary>
    /// Starts a watch. From <paramref name="fromResourceVersion"/> (exclusive) the kept history is replayed; without
    /// one (or "0") the current objects come first as ADDED. Throws 410 Expired when the history no longer reaches back.
    /// </summary>
    public KubeWatchSubscription Watch(KubeResource resource, string? ns, string? fromResourceVersion)
    {
        lock (_lock)
        {
            List<KubeWatchEvent> initial;
            if (string.IsNullOrEmpty(fromResourceVersion) || fromResourceVersion == "0")
            {
                initial = Bucket(resource).Values
                    .Where(o => ns is null || NamespaceOf(o) == ns)
                    .Select(o => new KubeWatchEvent("ADDED", resource, (JsonObject)o.DeepClone(), null, ParseRv(o)))
                    .ToList();
            }
            else
            {
                if (!long.TryParse(fromResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                {
                    throw KubeApiException.BadRequest($"invalid resource version \"{fromResourceVersion}\"");
                }

                if (from < _compactedThrough)
                {
                    throw KubeApiException.Expired(fromResourceVersion);
                }

                initial = _history.Where(e => e.ResourceVersion > from && e.Resource == resource && (ns is null || e.Namespace == ns)).ToList();
            }

            return Watchers.Add(resource, ns, initial, _resourceVersion);
        }
    }

    /// <summary>Forgets the whole history: a watch from any version before now gets 410 Expired.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _compactedThrough = _resourceVersion;
        }
    }

    private void Record(KubeWatchEvent e)
    {
        _history.Enqueue(e);
        while (_history.Count > _historyLimit)
        {
            _compactedThrough = _history.Dequeue().ResourceVersion;
        }

        Watchers.Publish(e);
    }

    private static (string? Namespace, string Name) Identity(KubeResource resource, JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject meta)
        {
            throw KubeApiException.Invalid(resource, "", "metadata: Required value");
        }

        var name = Str(meta["name"]);
        if (string.IsNullOrEmpty(name))
        {
            throw KubeApiException.Invalid(resource, "", "metadata.name: Required value: name or generateName is required");
        }

        var ns = NamespaceOf(obj);
        if (resource.Namespaced && string.IsNullOrEmpty(ns))
        {
            throw KubeApiException.Invalid(resource, name, "metadata.namespace: Required value");
        }

        if (!resource.Namespaced && ns is not null)
        {
            meta.Remove("namespace");
            ns = null;
        }

        return (ns, name);
    }

    private SortedDictionary<string, JsonObject> Bucket(KubeResource resource)
    {
        if (!_objects.TryGetValue(resource.Key, out var bucket))
        {
            bucket = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[resource.Key] = bucket;
        }

        return bucket;
    }

    private string NewUid()
    {
        // Random like the API server's, with a counter so two objects never share one.
        var counter = ++_uidCounter;
        var g = Guid.NewGuid().ToString();
        return string.Concat(g.AsSpan(0, 24), counter.ToString("x12", CultureInfo.InvariantCulture));
    }

    internal static string? NamespaceOf(JsonObject obj) => Str(obj["metadata"]?["namespace"]) is { Length: > 0 } ns ? ns : null;

    /// <summary>The node's string value, or null when it is missing or not a string.</summary>
    internal static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long ParseRv(JsonObject obj) =>
        long.TryParse(Str(obj["metadata"]?["resourceVersion"]), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : 0;

    private static string Key(string? ns, string name) => ns is null ? name : ns + "/" + name;

    internal static string Rv(long rv) => rv.ToString(CultureInfo.InvariantCulture);

    internal static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
