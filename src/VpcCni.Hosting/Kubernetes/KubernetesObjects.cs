using System.Globalization;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>What the daemon keeps of a pod on its node (PodIpsAnnotation: the value of vpc.amazonaws.com/pod-ips, if any).</summary>
internal sealed record PodInfo(string Namespace, string Name, string? Uid, string? NodeName, string? Phase, string? PodIpsAnnotation)
{
    public string Key => Namespace + "/" + Name;

    public static PodInfo? From(WirePod pod) =>
        pod.Metadata is { Name: { } name } meta
            ? new PodInfo(meta.Namespace ?? "default", name, meta.Uid, pod.Spec?.NodeName, pod.Status?.Phase, Annotation(meta.Annotations))
            : null;

    private static string? Annotation(Dictionary<string, string>? annotations) =>
        annotations is not null && annotations.TryGetValue(PodIpAnnotation.Key, out var value) ? value : null;
}

/// <summary>
/// What the daemon keeps of its Node: the pod capacity the kubelet advertises (MaxPods: status.capacity.pods, else
/// allocatable.pods; null when absent or not a plain integer), and its labels and annotations (the ENIConfig choice).
/// </summary>
internal sealed record NodeInfo(string Name, int? MaxPods, IReadOnlyDictionary<string, string>? Labels = null, IReadOnlyDictionary<string, string>? Annotations = null)
{
    public static NodeInfo? From(WireNode node) =>
        node.Metadata?.Name is { } name
            ? new NodeInfo(name, Pods(node.Status?.Capacity?.GetValueOrDefault("pods")) ?? Pods(node.Status?.Allocatable?.GetValueOrDefault("pods")),
                node.Metadata.Labels, node.Metadata.Annotations)
            : null;

    /// <summary>A pod count is a plain integer quantity ("110"); anything else is ignored rather than guessed.</summary>
    internal static int? Pods(string? quantity) =>
        int.TryParse(quantity, NumberStyles.None, CultureInfo.InvariantCulture, out var pods) && pods >= 1 ? pods : null;
}
