using VpcCni.Configuration;

namespace VpcCni.Hosting.Configuration;

/// <summary>How VpcCni treats one of upstream's environment variables.</summary>
internal enum UpstreamSettingSupport
{
    /// <summary>Read and honoured.</summary>
    Implemented,

    /// <summary>Accepted; it needs no behaviour here (deprecated upstream, or only matters for a refused feature).</summary>
    NoEffect,

    /// <summary>The feature is not built: a value that would need it stops the daemon at start, naming the variable.</summary>
    Refused,
}

/// <summary>
/// One upstream variable (reference §1.2–§1.7): its status, why, a value that is accepted and, for refused ones, a value
/// that is refused (the examples document the table and let a test prove every row).
/// </summary>
/// <param name="Name">The variable.</param>
/// <param name="Support">Implemented, no effect needed, or refused when set to a value that needs the missing feature.</param>
/// <param name="Reason">Where it is read, why it needs nothing, or why it is refused (the error's text).</param>
/// <param name="Accepted">A value the daemon starts with.</param>
/// <param name="Refused">For <see cref="UpstreamSettingSupport.Refused"/>: a value it refuses; null otherwise.</param>
internal sealed record UpstreamSetting(string Name, UpstreamSettingSupport Support, string Reason, string Accepted, string? Refused = null)
{
    /// <summary>For a refused row: true when the variable's value needs the missing feature.</summary>
    internal Func<EnvironmentReader, bool>? Refuses { get; init; }
}

/// <summary>
/// Every upstream variable and what VpcCni does with it. Unlike upstream (which has no such check), a setting whose
/// feature is not built stops the daemon at start instead of being ignored silently.
/// </summary>
internal static class UpstreamSettings
{
    private const string NoTaints = "node taints are not acted on yet";

    /// <summary>The table (docs/settings.md lists the same rows).</summary>
    public static IReadOnlyList<UpstreamSetting> All { get; } =
    [
        // §1.2 ipamd.
        Implemented("WARM_ENI_TARGET", "DaemonSettings (IPAM)", "1"),
        Implemented("WARM_IP_TARGET", "DaemonSettings (IPAM)", "5"),
        Implemented("MINIMUM_IP_TARGET", "DaemonSettings (IPAM)", "10"),
        Implemented("WARM_PREFIX_TARGET", "DaemonSettings (IPAM)", "1"),
        Implemented("MAX_ENI", "DaemonSettings (IPAM)", "3"),
        Implemented("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
            "KubernetesApiSettings and IPAM: new ENIs in the node's ENIConfig subnet(s) with its security groups, no pods on the primary ENI; needs the Kubernetes API (refused without it)", "false"),
        Implemented("ENI_CONFIG_ANNOTATION_DEF", "KubernetesApiSettings: the node annotation naming its ENIConfig", "k8s.amazonaws.com/eniConfig"),
        Implemented("ENI_CONFIG_LABEL_DEF", "KubernetesApiSettings: the node label naming its ENIConfig", "topology.kubernetes.io/zone"),
        new("AWS_MANAGE_ENIS_NON_SCHEDULABLE", UpstreamSettingSupport.NoEffect,
            NoTaints + ", so ENIs are managed as with true (docs/upstream-differences.md)", "true"),
        Implemented("ENABLE_SUBNET_DISCOVERY", "Ec2ProviderOptions", "false"),
        WhenTrue("DISABLE_NETWORK_RESOURCE_PROVISIONING", "running on IMDS-discovered resources only (no ENI or address provisioning) is not built"),
        WhenTrue("ENABLE_IMDS_ONLY_MODE", "IMDS-only mode (no EC2 calls at all) is not built"),
        Implemented("DISABLE_LEAKED_ENI_CLEANUP", "the leaked-ENI sweep", "true"),
        Implemented("AWS_VPC_K8S_CNI_BACKING_STORE", "DaemonSettings", "/var/run/aws-node/ipam.json"),
        Implemented("IP_COOLDOWN_PERIOD", "DaemonSettings (IPAM)", "30"),
        WhenTrue("ENABLE_POD_ENI", "security groups for pods (trunk and branch ENIs) are not built"),
        new("POD_SECURITY_GROUP_ENFORCING_MODE", UpstreamSettingSupport.Implemented,
            "validated and written to the conflist (PluginInstallOptions); only matters for branch-ENI pods, which are refused", "standard"),
        Implemented("ENABLE_PREFIX_DELEGATION", "DaemonSettings (IPAM)", "true"),
        Implemented("ENABLE_IPv4", "DaemonSettings (IPAM): exactly one of ENABLE_IPv4/ENABLE_IPv6 must be true (upstream's isConfigValid)", "true"),
        Implemented("ENABLE_IPv6", "DaemonSettings (IPAM): IPv6 cluster, pods get /128s from the primary ENI's /80 prefix; needs ENABLE_PREFIX_DELEGATION=true, ENABLE_IPv4=false, no custom networking and a Nitro or bare-metal instance", "false"),
        Implemented("MANAGE_UNTAGGED_ENI", "the ENI discovery (untagged ENIs unmanaged when false)", "false"),
        Implemented("ANNOTATE_POD_IP", "KubernetesApiSettings: vpc.amazonaws.com/pod-ips patched on ADD, cleared on DEL; needs the Kubernetes API (refused without it)", "false"),
        Implemented("NETWORK_POLICY_ENFORCING_MODE",
            "DaemonSettings: none, strict or standard (any case, passed on as spelled; unset is \"\", invalid stops the daemon) in every AddNetwork/DelNetwork reply and GetNetworkPolicyConfigs; when it is set the plugin calls the network policy agent (npa.sock) at ADD and DEL",
            "strict"),
        WhenTrue("ENABLE_MULTI_NIC", "only network card 0 is managed; multi-NIC (cards > 0, multi-homed pods) is not built"),
        Implemented("MY_NODE_NAME", "KubernetesApiSettings: the node and pod watches' field selectors, event source host; required with the API", "ip-10-0-0-1.ec2.internal"),
        Implemented("MY_POD_NAME", "KubernetesApiSettings: the reportingInstance of the daemon's events (the node name when unset); the events themselves go to the pod whose ADD failed or waited", "aws-node-abcde"),
        Implemented("CLUSTER_NAME", "Ec2ProviderOptions (ENI tags, leaked-ENI scope)", "prod"),
        Implemented("ADDITIONAL_ENI_TAGS", "Ec2ProviderOptions", "{\"team\":\"net\"}"),
        new("VPC_CNI_VERSION", UpstreamSettingSupport.NoEffect, "only a user-agent suffix upstream", "v1.23.1"),
        WhenSet("AWS_EC2_ENDPOINT", "not read (upstream only wires it into its IMDS client); set AWS_ENDPOINT_URL_EC2 for a custom EC2 endpoint", "https://ec2.example.test"),
        WhenSet("HTTP_TIMEOUT", "not read: the EC2 client's per-request timeout is fixed at 30 s", "20"),
        Implemented("CLUSTER_ENDPOINT", "KubernetesApiSettings: the API server URL used with the service account", "https://10.0.0.1:443"),
        Implemented("INTROSPECTION_BIND_ADDRESS", "DaemonSettings (host:port; upstream's unix: form is refused as invalid)", "127.0.0.1:61679"),
        Implemented("DISABLE_INTROSPECTION", "DaemonSettings", "true"),
        Implemented("DISABLE_METRICS", "DaemonSettings", "true"),
        Implemented("AWS_VPC_K8S_CNI_LOGLEVEL", "DaemonSettings: the daemon's minimum log level; upstream's DEBUG, INFO, WARN, ERROR, FATAL (any case) and .NET's names; default Debug; an unknown name is refused", "WARN"),
        Implemented("AWS_VPC_K8S_CNI_LOG_FILE", "DaemonSettings: stdout, stderr or a file path (default /host/var/log/aws-routed-eni/ipamd.log, rotated at 100 MB, 5 backups)", "stdout"),
        Implemented("AWS_VPC_K8S_CNI_EXTERNALSNAT", "DaemonSettings", "true"),
        Implemented("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "DaemonSettings", "10.10.0.0/16"),
        Implemented("AWS_EXTERNAL_SERVICE_CIDRS", "DaemonSettings, HostNetworkDatapath: a priority-1535 'to <cidr> lookup main' rule per CIDR", "203.0.113.0/24"),
        Implemented("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "DaemonSettings", "none"),
        Implemented("AWS_VPC_CNI_NODE_PORT_SUPPORT", "DaemonSettings", "false"),
        Implemented("AWS_VPC_K8S_CNI_CONNMARK", "DaemonSettings", "0x100"),
        Implemented("AWS_VPC_ENI_MTU", "DaemonSettings, PluginInstallOptions", "1500"),
        Implemented("AWS_VPC_K8S_CNI_VETHPREFIX", "DaemonSettings, PluginInstallOptions", "abc"),
        Implemented("ENABLE_V6_EGRESS", "PluginInstallOptions (the egress-cni entry of IPv4 clusters, nodeIP = IMDS ipv6) and the host setup (IPv6 forwarding, accept_ra=2 on the primary interface)", "false"),

        // §1.3 entrypoint, §1.4 init container (VpcCni's run --cni-conf-dir and init commands).
        WhenNot("HOST_CNI_BIN_PATH", "/host/opt/cni/bin", "not read: pass the directory as init --cni-bin-dir"),
        WhenNot("HOST_CNI_CONFDIR_PATH", "/host/etc/cni/net.d", "not read: pass the directory as run/init --cni-conf-dir"),
        Implemented("POD_MTU", "PluginInstallOptions (conflist)", "1500"),
        Implemented("AWS_VPC_K8S_PLUGIN_LOG_FILE", "PluginInstallOptions (conflist; stdout refused)", "/var/log/aws-routed-eni/plugin.log"),
        Implemented("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "PluginInstallOptions (conflist; an unknown level name is refused)", "info"),
        Implemented("AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE", "PluginInstallOptions: the egress-cni entry's pluginLogFile in IPv6 clusters", "/var/log/aws-routed-eni/egress-v4-plugin.log"),
        Implemented("AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE", "PluginInstallOptions: the egress-cni entry's pluginLogFile in IPv4 clusters with ENABLE_V6_EGRESS", "/var/log/aws-routed-eni/egress-v6-plugin.log"),
        Implemented("ENABLE_V4_EGRESS", "PluginInstallOptions: the egress-cni entry's enabled in IPv6 clusters (default true)", "true"),
        Implemented("ENABLE_BANDWIDTH_PLUGIN", "PluginInstallOptions (conflist)", "true"),
        WhenTrue("DISABLE_POD_V6", "the tuning plugin entry that disables IPv6 in pods is not written to the conflist"),
        Implemented("DISABLE_TCP_EARLY_DEMUX", "NodeInstaller (init sysctls only; the daemon never writes tcp_early_demux)", "true"),

        // §1.7 deprecated upstream.
        new("AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER", UpstreamSettingSupport.NoEffect, "deprecated no-op upstream", "false"),
        new("ENABLE_NFTABLES", UpstreamSettingSupport.NoEffect, "deprecated no-op upstream; VpcCni's VPC_CNI_NETFILTER_BACKEND chooses the backend", "true"),
    ];

    /// <summary>
    /// Throws <see cref="InvalidSettingException"/> naming the first variable whose value needs a feature VpcCni does
    /// not have (a malformed value of such a variable is also refused, naming it).
    /// </summary>
    public static void ThrowIfUnsupported(EnvironmentReader env)
    {
        ArgumentNullException.ThrowIfNull(env);
        foreach (var setting in All)
        {
            if (setting.Refuses is { } refuses && refuses(env))
            {
                throw new InvalidSettingException(setting.Name, env.String(setting.Name) ?? "", "not supported by VpcCni: " + setting.Reason);
            }
        }
    }

    private static UpstreamSetting Implemented(string name, string readBy, string accepted) =>
        new(name, UpstreamSettingSupport.Implemented, readBy, accepted);

    private static UpstreamSetting WhenTrue(string name, string reason) =>
        new(name, UpstreamSettingSupport.Refused, reason, "false", "true") { Refuses = env => env.Bool(name, false) };

    private static UpstreamSetting WhenSet(string name, string reason, string example) =>
        new(name, UpstreamSettingSupport.Refused, reason, "", example) { Refuses = env => env.String(name) is not null };

    private static UpstreamSetting WhenNot(string name, string upstreamDefault, string reason) =>
        new(name, UpstreamSettingSupport.Refused, reason, upstreamDefault, "/opt/elsewhere")
        {
            Refuses = env => env.String(name) is { } value && value != upstreamDefault,
        };
}
