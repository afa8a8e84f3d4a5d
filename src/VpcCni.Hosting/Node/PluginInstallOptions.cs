using VpcCni.Configuration;

namespace VpcCni.Hosting.Node;

/// <summary>
/// What the node installer writes: the conflist's plugin settings, read from upstream's variable names
/// (the entrypoint's validation rules, with errors naming the variable).
/// </summary>
public sealed record PluginInstallOptions
{
    public const string ConflistFileName = "10-aws.conflist";

    /// <summary>The network name; upstream's, so checkpoint keys (network, container, ifname) carry over.</summary>
    public string NetworkName { get; init; } = "aws-cni";

    /// <summary>The plugin's executable name (the conflist "type").</summary>
    public string PluginType { get; init; } = "vpc-cni";

    /// <summary>
    /// VPC_CNI_CONFLIST_VERSION: the conflist's cniVersion. 1.0.0 (default) with CHECK enabled, the newest that Debian's
    /// and upstream's portmap and bandwidth plugins accept; or 0.4.0, upstream's layout with "disableCheck": true.
    /// </summary>
    public string CniVersion { get; init; } = VpcCni.Cni.CniVersion.V1_0_0;

    /// <summary>The variable that chooses <see cref="CniVersion"/>.</summary>
    internal const string ConflistVersionVariable = "VPC_CNI_CONFLIST_VERSION";

    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX.</summary>
    public string VethPrefix { get; init; } = "eni";

    /// <summary>POD_MTU, defaulting to AWS_VPC_ENI_MTU.</summary>
    public int PodMtu { get; init; } = 9001;

    /// <summary>POD_SECURITY_GROUP_ENFORCING_MODE.</summary>
    public string PodSGEnforcingMode { get; init; } = "strict";

    /// <summary>AWS_VPC_K8S_PLUGIN_LOG_FILE.</summary>
    public string PluginLogFile { get; init; } = "/var/log/aws-routed-eni/plugin.log";

    /// <summary>AWS_VPC_K8S_PLUGIN_LOG_LEVEL.</summary>
    public string PluginLogLevel { get; init; } = "Debug";

    /// <summary>ENABLE_BANDWIDTH_PLUGIN: append Debian/upstream's bandwidth plugin.</summary>
    public bool EnableBandwidthPlugin { get; init; }

    /// <summary>Chain portmap after the plugin (hostPort support), as upstream does.</summary>
    public bool EnablePortmap { get; init; } = true;

    /// <summary>VPC_CNI_DAEMON_POD_WIRING: the conflist asks the plugin to let the daemon wire pods (daemonPodWiring).</summary>
    public bool DaemonPodWiring { get; init; }

    /// <summary>The daemon's socket the plugin dials (written as the conflist's ipamdAddress).</summary>
    public string IpamdAddress { get; init; } = Rpc.IpamdChannel.DefaultSocketPath;

    /// <summary>
    /// The egress-cni entry, or null for none. There always is one by default and from <see cref="FromEnvironment"/>, as
    /// upstream always chains egress-cni: enabled by ENABLE_V4_EGRESS (IPv6 cluster) or ENABLE_V6_EGRESS (IPv4 cluster),
    /// otherwise written disabled, an entry the plugin answers by passing the result through.
    /// </summary>
    public EgressPluginOptions? Egress { get; init; } =
        new EgressPluginOptions(IPv6Cluster: false, Enabled: false) { PluginLogFile = EgressPluginOptions.DefaultLogFile(ipv6Cluster: false) };

    /// <summary>Reads the upstream variables; a bad value is an <see cref="ArgumentException"/> naming the variable.</summary>
    public static PluginInstallOptions FromEnvironment(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var env = new EnvironmentReader(get);
        Configuration.UpstreamSettings.ThrowIfUnsupported(env);
        var logFile = env.String("AWS_VPC_K8S_PLUGIN_LOG_FILE", "/var/log/aws-routed-eni/plugin.log");
        if (logFile == "stdout")
        {
            throw new InvalidSettingException("AWS_VPC_K8S_PLUGIN_LOG_FILE", logFile, "cannot be stdout: the plugin's stdout carries the CNI protocol");
        }

        var ipv6Cluster = env.Bool("ENABLE_IPv6", false);
        // Upstream's entrypoint: the MTU range is [1280, 9001] in an IPv6 cluster.
        var minimumMtu = ipv6Cluster ? 1280 : 576;
        var eniMtu = env.Int("AWS_VPC_ENI_MTU", 9001, minimumMtu, 9001);
        var egressEnabled = ipv6Cluster ? env.Bool("ENABLE_V4_EGRESS", true) : env.Bool("ENABLE_V6_EGRESS", false);
        var egressLogVariable = ipv6Cluster ? "AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE" : "AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE";
        return new PluginInstallOptions
        {
            VethPrefix = get("AWS_VPC_K8S_CNI_VETHPREFIX") is { } prefix ? Daemon.DaemonSettings.ValidVethPrefix(prefix) : "eni",
            PodMtu = env.Int("POD_MTU", eniMtu, minimumMtu, 9001),
            PodSGEnforcingMode = env.OneOf("POD_SECURITY_GROUP_ENFORCING_MODE", "strict", "strict", "standard"),
            PluginLogFile = logFile,
            PluginLogLevel = ValidLogLevel(env.String("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "Debug")),
            EnableBandwidthPlugin = env.Bool("ENABLE_BANDWIDTH_PLUGIN", false),
            DaemonPodWiring = env.Bool("VPC_CNI_DAEMON_POD_WIRING", false),
            Egress = new EgressPluginOptions(ipv6Cluster, egressEnabled)
            {
                RandomizeSnat = env.String("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng"),
                PluginLogFile = env.String(egressLogVariable, EgressPluginOptions.DefaultLogFile(ipv6Cluster)),
            },
            CniVersion = env.OneOf(ConflistVersionVariable, VpcCni.Cni.CniVersion.V1_0_0, VpcCni.Cni.CniVersion.V1_0_0, VpcCni.Cni.CniVersion.V0_4_0),
        };
    }

    // Written to the conflist as given (upstream passes it through); a name the plugin would not know is refused here.
    private static string ValidLogLevel(string level) =>
        Configuration.UpstreamLogLevel.TryParse(level, out _)
            ? level
            : throw new InvalidSettingException("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", level, "must be " + Configuration.UpstreamLogLevel.Names);
}
