using System.Runtime.CompilerServices;
using System.Text.Json;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>List (paged) and watch (line-decoded) of one selection of objects, over <see cref="KubernetesConnection"/>.</summary>
internal abstract class KubernetesListWatch<T>(KubernetesConnection connection, string path, string fieldSelector) : IListWatchSource<T>
    where T : class
{
    /// <summary>Objects per list page (the API server's chunking: a node's pods arrive in one or a few pages).</summary>
    internal const int PageSize = 500;

    protected KubernetesConnection Connection => connection;

    protected string FieldSelector => fieldSelector;

    public abstract string Description { get; }

    public abstract string KeyOf(T item);

    public abstract Task<ListResult<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The watch's Accept header (null: plain JSON).</summary>
    protected virtual string? WatchAccept => null;

    protected abstract T? Decode(JsonElement element);

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = $"fieldSelector={Uri.EscapeDataString(fieldSelector)}&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={Math.Max(1, (int)timeout.TotalSeconds)}";
        await foreach (var line in connection.WatchAsync(path, query, WatchAccept, cancellationToken).ConfigureAwait(false))
        {
            yield return ToEvent(line);
        }
    }

    private WatchEvent<T> ToEvent(WireWatchEvent line)
    {
        var kind = line.Type switch
        {
            "ADDED" => WatchEventKind.Added,
            "MODIFIED" => WatchEventKind.Modified,
            "DELETED" => WatchEventKind.Deleted,
            "BOOKMARK" => WatchEventKind.Bookmark,
            "ERROR" => WatchEventKind.Error,
            _ => throw new JsonException($"unknown watch event type \"{line.Type}\""),
        };
        if (kind == WatchEventKind.Error)
        {
            var status = line.Object.ValueKind == JsonValueKind.Object ? line.Object.Deserialize(KubernetesWireContext.Default.WireStatus) : null;
            return new WatchEvent<T>(kind, null, null, status?.Code ?? 500, status?.Message ?? status?.Reason);
        }

        var rv = line.Object.ValueKind == JsonValueKind.Object
            && line.Object.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object
            && meta.TryGetProperty("resourceVersion", out var version) && version.ValueKind == JsonValueKind.String
            ? version.GetString()
            : null;
        return new WatchEvent<T>(kind, kind == WatchEventKind.Bookmark ? null : Decode(line.Object), rv);
    }
}

/// <summary>The pods bound to this node (field selector spec.nodeName), in every namespace.</summary>
internal sealed class NodePodsListWatch(KubernetesConnection connection, string nodeName)
    : KubernetesListWatch<PodInfo>(connection, "api/v1/pods", "spec.nodeName=" + nodeName)
{
    public override string Description { get; } = $"pods on node {nodeName}";

    public override string KeyOf(PodInfo item) => item.Key;

    public override async Task<ListResult<PodInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<PodInfo>();
        string? next = null;
        string resourceVersion;
        do
        {
            var page = await Connection.ListPodsAsync(FieldSelector, PageSize, next, cancellationToken).ConfigureAwait(false);
            items.AddRange((page.Items ?? []).Select(PodInfo.From).OfType<PodInfo>());
            next = page.Metadata?.Continue;
            resourceVersion = page.Metadata?.ResourceVersion ?? "";
        }
        while (!string.IsNullOrEmpty(next));

        return new ListResult<PodInfo>(items, resourceVersion);
    }

    protected override PodInfo? Decode(JsonElement element) =>
        element.Deserialize(KubernetesWireContext.Default.WirePod) is { } pod ? PodInfo.From(pod) : null;
}

/// <summary>This node's Node object (field selector metadata.name).</summary>
internal sealed class OwnNodeListWatch(KubernetesConnection connection, string nodeName)
    : KubernetesListWatch<NodeInfo>(connection, "api/v1/nodes", "metadata.name=" + nodeName)
{
    public override string Description { get; } = $"node {nodeName}";

    public override string KeyOf(NodeInfo item) => item.Name;

    public override async Task<ListResult<NodeInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var list = await Connection.ListNodesAsync(FieldSelector, cancellationToken).ConfigureAwait(false);
        return new ListResult<NodeInfo>([.. (list.Items ?? []).Select(NodeInfo.From).OfType<NodeInfo>()], list.Metadata?.ResourceVersion ?? "");
    }

    protected override NodeInfo? Decode(JsonElement element) =>
        element.Deserialize(KubernetesWireContext.Default.WireNode) is { } node ? NodeInfo.From(node) : null;
}

/// <summary>
/// Every Node of the cluster as its name and creation time (metadata only: the API server sends neither status nor
/// spec), the fleet's membership (<see cref="KubernetesFleetMembership"/>).
/// </summary>
internal sealed class ClusterNodesListWatch(KubernetesConnection connection)
    : KubernetesListWatch<ClusterNode>(connection, "api/v1/nodes", "")
{
    public override string Description => "the cluster's nodes";

    protected override string? WatchAccept => KubernetesConnection.MetadataAccept;

    public override string KeyOf(ClusterNode item) => item.Name;

    public override async Task<ListResult<ClusterNode>> ListAsync(CancellationToken cancellationToken)
    {
        var list = await Connection.ListNodeMetadataAsync(cancellationToken).ConfigureAwait(false);
        return new ListResult<ClusterNode>([.. (list.Items ?? []).Select(ClusterNode.From).OfType<ClusterNode>()], list.Metadata?.ResourceVersion ?? "");
    }

    protected override ClusterNode? Decode(JsonElement element) =>
        element.Deserialize(KubernetesWireContext.Default.WireNodeMetadata) is { } node ? ClusterNode.From(node) : null;
}
