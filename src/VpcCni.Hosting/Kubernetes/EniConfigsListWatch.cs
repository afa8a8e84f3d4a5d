using System.Text.Json;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>Every ENIConfig of the cluster (cluster-scoped and few: a node's choice may change with its labels).</summary>
internal sealed class EniConfigsListWatch(KubernetesConnection connection)
    : KubernetesListWatch<EniConfigInfo>(connection, Path, "")
{
    /// <summary>The ENIConfig resource (<c>crd.k8s.amazonaws.com/v1alpha1</c>, plural eniconfigs).</summary>
    public const string Path = "apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs";

    public override string Description => "ENIConfigs";

    public override string KeyOf(EniConfigInfo item) => item.Name;

    public override async Task<ListResult<EniConfigInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<EniConfigInfo>();
        string? next = null;
        string resourceVersion;
        do
        {
            var query = $"limit={PageSize}" + (next is null ? "" : "&continue=" + Uri.EscapeDataString(next));
            using var page = await Connection.GetJsonAsync(Path, query, cancellationToken).ConfigureAwait(false);
            var root = page.RootElement;
            if (root.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                items.AddRange(list.EnumerateArray().Select(EniConfigInfo.From).OfType<EniConfigInfo>());
            }

            var meta = root.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
            next = meta.ValueKind == JsonValueKind.Object && meta.TryGetProperty("continue", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            resourceVersion = meta.ValueKind == JsonValueKind.Object && meta.TryGetProperty("resourceVersion", out var rv) && rv.ValueKind == JsonValueKind.String ? rv.GetString() ?? "" : "";
        }
        while (!string.IsNullOrEmpty(next));

        return new ListResult<EniConfigInfo>(items, resourceVersion);
    }

    protected override EniConfigInfo? Decode(JsonElement element) => EniConfigInfo.From(element);
}
