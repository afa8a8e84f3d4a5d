using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>One change of the object store, as a watch stream carries it.</summary>
/// <param name="Type">ADDED, MODIFIED or DELETED.</param>
/// <param name="Object">The object after the change (for DELETED: the last state, with the deletion's resourceVersion).</param>
/// <param name="Previous">The object before the change (null for ADDED): lets a filtered watch turn a MODIFIED that
/// moves an object out of (or into) its selector into DELETED (or ADDED), as the API server does.</param>
internal sealed record KubeWatchEvent(string Type, KubeResource Resource, JsonObject Object, JsonObject? Previous, long ResourceVersion)
{
    public string? Namespace => KubeObjectStore.NamespaceOf(Object);
}

/// <summary>A watcher's queue of events; completed when the store cuts the watch or the watcher leaves.</summary>
internal sealed class KubeWatchSubscription : IDisposable
{
    private readonly KubeWatchHub _hub;

    internal KubeWatchSubscription(KubeWatchHub hub, KubeResource resource, string? ns, IReadOnlyList<KubeWatchEvent> initial, long startResourceVersion)
    {
        _hub = hub;
        StartResourceVersion = startResourceVersion;
        Resource = resource;
        Namespace = ns;
        Initial = initial;
    }

    public KubeResource Resource { get; }

    /// <summary>The store's resourceVersion when the watch began: every later change comes through <see cref="Events"/>.</summary>
    public long StartResourceVersion { get; }

    /// <summary>Namespace watched; null for all namespaces (or a cluster-scoped resource).</summary>
    public string? Namespace { get; }

    /// <summary>Events owed before the live ones: the history after the requested resourceVersion, or the current
    /// objects as ADDED when the watch starts from "any" version.</summary>
    public IReadOnlyList<KubeWatchEvent> Initial { get; }

    /// <summary>Live events; completes when the watch is cut.</summary>
    public Channel<KubeWatchEvent> Events { get; } = Channel.CreateUnbounded<KubeWatchEvent>(new UnboundedChannelOptions { SingleReader = true });

    internal bool Wants(KubeWatchEvent e) => e.Resource == Resource && (Namespace is null || e.Namespace == Namespace);

    public void Dispose() => _hub.Remove(this);
}

/// <summary>
/// The live watchers of the store. <see cref="Publish"/> is called under the store's lock, so every watcher sees the
/// changes in resourceVersion order and none falls between its initial snapshot and its first live event.
/// </summary>
internal sealed class KubeWatchHub
{
    private readonly Lock _lock = new();
    private readonly List<KubeWatchSubscription> _subscribers = [];

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    public KubeWatchSubscription Add(KubeResource resource, string? ns, IReadOnlyList<KubeWatchEvent> initial, long startResourceVersion)
    {
        var subscription = new KubeWatchSubscription(this, resource, ns, initial, startResourceVersion);
        lock (_lock)
        {
            _subscribers.Add(subscription);
        }

        return subscription;
    }

    public void Publish(KubeWatchEvent e)
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
            {
                if (s.Wants(e))
                {
                    s.Events.Writer.TryWrite(e);
                }
            }
        }
    }

    /// <summary>Ends every open watch stream (clients see the stream close and must re-watch).</summary>
    public void CutAll()
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
            {
                s.Events.Writer.TryComplete();
            }

            _subscribers.Clear();
        }
    }

    internal void Remove(KubeWatchSubscription subscription)
    {
        lock (_lock)
        {
            _subscribers.Remove(subscription);
        }

        subscription.Events.Writer.TryComplete();
    }
}
