namespace VpcCni.Hosting.Node;

/// <summary>
/// The conflist's egress-cni entry (upstream §5.6): in an IPv6 cluster it gives pods IPv4 egress (SNAT to the node's
/// IPv4) from 169.254.172.0/22; in an IPv4 cluster IPv6 egress (SNAT to the node's IPv6) from fd00::ac:00/118.
/// </summary>
/// <param name="IPv6Cluster">ENABLE_IPv6: selects the IPv4 flavour.</param>
/// <param name="Enabled">ENABLE_V4_EGRESS (IPv6 cluster, default true) or ENABLE_V6_EGRESS (IPv4 cluster, default false).</param>
public sealed record EgressPluginOptions(bool IPv6Cluster, bool Enabled)
{
    /// <summary>The plugin's type, and the binary the init command installs beside ours.</summary>
    public const string PluginType = "egress-cni";

    /// <summary>The SNAT target: IMDS local-ipv4 (IPv6 cluster) or ipv6 (IPv4 cluster, only when enabled); "" until read.</summary>
    public string NodeIP { get; init; } = "";

    /// <summary>AWS_VPC_K8S_CNI_RANDOMIZESNAT as given (default prng).</summary>
    public string RandomizeSnat { get; init; } = "prng";

    /// <summary>AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE or AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE.</summary>
    public string PluginLogFile { get; init; } = "";

    /// <summary>host-local's range.</summary>
    public string Subnet => IPv6Cluster ? "169.254.172.0/22" : "fd00::ac:00/118";

    /// <summary>host-local's route.</summary>
    public string RouteDestination => IPv6Cluster ? "0.0.0.0/0" : "::/0";

    /// <summary>host-local's state directory.</summary>
    public string DataDirectory => IPv6Cluster ? "/run/cni/v6pd/egress-v4-ipam" : "/run/cni/v4pd/egress-v6-ipam";

    /// <summary>Upstream's default log file of the flavour.</summary>
    public static string DefaultLogFile(bool ipv6Cluster) =>
        ipv6Cluster ? "/var/log/aws-routed-eni/egress-v4-plugin.log" : "/var/log/aws-routed-eni/egress-v6-plugin.log";
}
