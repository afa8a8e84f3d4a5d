using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>The tag keys and description upstream puts on the ENIs it creates (reference §2.19).</summary>
internal static class EniTags
{
    public const string InstanceId = "node.k8s.amazonaws.com/instance_id";
    public const string CreatedAt = "node.k8s.amazonaws.com/createdAt";
    public const string NoManage = "node.k8s.amazonaws.com/no_manage";
    public const string ClusterName = "cluster.k8s.amazonaws.com/name";
    public const string Owner = "eks:eni:owner";
    public const string OwnerValue = "amazon-vpc-cni";
    public const string DescriptionPrefix = "aws-K8S-";
    public const string SubnetRole = "kubernetes.io/role/cni";
    public const string SubnetClusterPrefix = "cni.networking.k8s.aws/cluster/";

    /// <summary>The tags every ENI of a node carries (upstream's TagENI set): instance id, cluster name and owner when
    /// CLUSTER_NAME is set, ADDITIONAL_ENI_TAGS; sorted by key, as upstream sends them.</summary>
    public static SortedDictionary<string, string> Ownership(string instanceId, string? clusterName, IReadOnlyDictionary<string, string> additional)
    {
        ArgumentNullException.ThrowIfNull(additional);
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal) { [InstanceId] = instanceId };
        if (clusterName is not null)
        {
            tags[ClusterName] = clusterName;
            tags[Owner] = OwnerValue;
        }

        foreach (var (key, value) in additional)
        {
            tags[key] = value;
        }

        return tags;
    }

    /// <summary>The ownership tags an ENI lacks or carries with another value (sorted by key); none for a trunk ENI,
    /// which belongs to the VPC resource controller.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Missing(NetworkInterface eni, SortedDictionary<string, string> ownership)
    {
        ArgumentNullException.ThrowIfNull(eni);
        ArgumentNullException.ThrowIfNull(ownership);
        return eni.Kind == EniKind.Trunk
            ? []
            : [.. ownership.Where(t => !eni.Tags.TryGetValue(t.Key, out var value) || value != t.Value)];
    }

    /// <summary>Maps EC2's InterfaceType to the engine's kind.</summary>
    public static EniKind KindOf(string? interfaceType) => interfaceType switch
    {
        "trunk" => EniKind.Trunk,
        "efa" => EniKind.Efa,
        "efa-only" => EniKind.EfaOnly,
        _ => EniKind.Interface,
    };
}
