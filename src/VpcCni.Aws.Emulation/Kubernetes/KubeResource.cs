namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>One resource type the emulated API serves (what discovery lists and the URL paths name).</summary>
/// <param name="Group">API group; empty for the core group (<c>/api/v1</c>).</param>
/// <param name="Plural">Resource name in URLs, e.g. <c>pods</c>.</param>
/// <param name="ShortNames">kubectl's short names, e.g. <c>po</c>.</param>
internal sealed record KubeResource(
    string Group,
    string Version,
    string Plural,
    string Singular,
    string Kind,
    bool Namespaced,
    IReadOnlyList<string> ShortNames)
{
    /// <summary>apiVersion of the objects: <c>v1</c> or <c>group/version</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary><c>.group</c> as API error messages append it to the resource name (empty for core).</summary>
    public string GroupSuffix => Group.Length == 0 ? string.Empty : "." + Group;

    /// <summary>Store key: the resource's plural and group.</summary>
    public string Key => Plural + GroupSuffix;

    /// <summary>Kind of the list objects, e.g. <c>PodList</c>.</summary>
    public string ListKind => Kind + "List";

    public static KubeResource Nodes { get; } = new("", "v1", "nodes", "node", "Node", false, ["no"]);

    public static KubeResource Pods { get; } = new("", "v1", "pods", "pod", "Pod", true, ["po"]);

    public static KubeResource Events { get; } = new("", "v1", "events", "event", "Event", true, ["ev"]);

    public static KubeResource Namespaces { get; } = new("", "v1", "namespaces", "namespace", "Namespace", false, ["ns"]);

    /// <summary>Custom networking's per-zone (or per-name) subnet and security groups (upstream's ENIConfig CRD).</summary>
    public static KubeResource EniConfigs { get; } =
        new("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", "eniconfig", "ENIConfig", false, []);

    /// <summary>The VPC resource controller's per-node feature list (upstream's CNINode CRD).</summary>
    public static KubeResource CniNodes { get; } =
        new("vpcresources.k8s.aws", "v1alpha1", "cninodes", "cninode", "CNINode", false, ["cnd"]);

    /// <summary>Every resource served, core group first.</summary>
    public static IReadOnlyList<KubeResource> All { get; } = [Nodes, Pods, Events, Namespaces, EniConfigs, CniNodes];
}
