namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// Which ENIConfig a node uses, upstream's order: label <c>vpc.amazonaws.com/externalEniConfig</c>, then the annotation
/// named by ENI_CONFIG_ANNOTATION_DEF, then the label named by ENI_CONFIG_LABEL_DEF (set it to
/// <c>topology.kubernetes.io/zone</c> for one ENIConfig per zone), then <c>default</c>.
/// </summary>
internal static class EniConfigSelector
{
    /// <summary>The label upstream reads first (set by external tooling).</summary>
    public const string ExternalLabel = "vpc.amazonaws.com/externalEniConfig";

    /// <summary>The default of both ENI_CONFIG_ANNOTATION_DEF and ENI_CONFIG_LABEL_DEF.</summary>
    public const string DefaultKey = "k8s.amazonaws.com/eniConfig";

    /// <summary>The name used when the node names none.</summary>
    public const string DefaultName = "default";

    /// <summary>The ENIConfig name for <paramref name="node"/> and where it came from (for log lines and introspection).</summary>
    public static (string Name, string Source) Select(NodeInfo node, string annotationKey, string labelKey)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (Value(node.Labels, ExternalLabel) is { } external)
        {
            return (external, $"label {ExternalLabel}");
        }

        if (Value(node.Annotations, annotationKey) is { } annotated)
        {
            return (annotated, $"annotation {annotationKey}");
        }

        if (Value(node.Labels, labelKey) is { } labelled)
        {
            return (labelled, $"label {labelKey}");
        }

        return (DefaultName, "default (the node names none)");
    }

    private static string? Value(IReadOnlyDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
