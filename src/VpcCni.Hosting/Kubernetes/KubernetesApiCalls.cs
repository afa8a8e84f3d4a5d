using System.Globalization;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The API calls the daemon makes, one line each over <see cref="KubernetesConnection.SendAsync{T}"/> (a new call is a
/// path, a wire record in <see cref="KubernetesWireContext"/> and a line here).
/// </summary>
internal static class KubernetesApiCalls
{
    /// <summary>One page of the pods matching <paramref name="fieldSelector"/> in every namespace (continue: the previous page's token).</summary>
    public static Task<WirePodList> ListPodsAsync(this KubernetesConnection connection, string fieldSelector, int limit, string? continueToken, CancellationToken cancellationToken) =>
        connection.SendAsync(HttpMethod.Get, "api/v1/pods?" + ListQuery(fieldSelector, limit, continueToken), null, KubernetesWireContext.Default.WirePodList, cancellationToken);

    /// <summary>The nodes matching <paramref name="fieldSelector"/>.</summary>
    public static Task<WireNodeList> ListNodesAsync(this KubernetesConnection connection, string fieldSelector, CancellationToken cancellationToken) =>
        connection.SendAsync(HttpMethod.Get, "api/v1/nodes?" + ListQuery(fieldSelector, 0, null), null, KubernetesWireContext.Default.WireNodeList, cancellationToken);

    /// <summary>
    /// Every node as its name and creation time: metadata only (<see cref="KubernetesConnection.MetadataListAccept"/>),
    /// resourceVersion=0 so that the API server answers from its watch cache rather than from etcd.
    /// </summary>
    public static Task<WireNodeMetadataList> ListNodeMetadataAsync(this KubernetesConnection connection, CancellationToken cancellationToken) =>
        connection.GetAsync("api/v1/nodes?resourceVersion=0", KubernetesConnection.MetadataListAccept, KubernetesWireContext.Default.WireNodeMetadataList, cancellationToken);

    /// <summary>A JSON merge patch (application/merge-patch+json) of a pod.</summary>
    public static Task MergePatchPodAsync(this KubernetesConnection connection, string podNamespace, string podName, string mergePatch, CancellationToken cancellationToken) =>
        connection.MergePatchAsync($"api/v1/namespaces/{Segment(podNamespace)}/pods/{Segment(podName)}", mergePatch, cancellationToken);

    /// <summary>Creates a core/v1 Event in <paramref name="eventNamespace"/>.</summary>
    public static Task<WireEvent> CreateEventAsync(this KubernetesConnection connection, string eventNamespace, WireEvent body, CancellationToken cancellationToken) =>
        connection.SendAsync(HttpMethod.Post, $"api/v1/namespaces/{Segment(eventNamespace)}/events",
            KubernetesConnection.Json(body, KubernetesWireContext.Default.WireEvent), KubernetesWireContext.Default.WireEvent, cancellationToken);

    private static string ListQuery(string fieldSelector, int limit, string? continueToken)
    {
        var query = "fieldSelector=" + Uri.EscapeDataString(fieldSelector);
        if (limit > 0)
        {
            query += "&limit=" + limit.ToString(CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrEmpty(continueToken))
        {
            query += "&continue=" + Uri.EscapeDataString(continueToken);
        }

        return query;
    }

    private static string Segment(string value) => Uri.EscapeDataString(value);
}
