using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>The tag keys and description upstream puts on the ENIs it creates (reference §2.19).</summary>
public static class EniTags
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

    /// <summary>Maps EC2's InterfaceType to the engine's kind.</summary>
    public static EniKind KindOf(string? interfaceType) => interfaceType switch
    {
        "trunk" => EniKind.Trunk,
        "efa" => EniKind.Efa,
        "efa-only" => EniKind.EfaOnly,
        _ => EniKind.Interface,
    };
}
