using VpcCni.Configuration;
using System.Net;
using Microsoft.Extensions.Configuration;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Ipam;
using VpcCni.Linux.Snat;

namespace VpcCni.Hosting.Daemon;

/// <summary>Which cloud the daemon drives.</summary>
public enum CloudKind
{
    /// <summary>EC2 and IMDS through AWSSDK.EC2 (endpoints from the standard AWS variables).</summary>
    Aws,

    /// <summary>An in-process simulated VPC with one instance (no AWS account needed).</summary>
    Simulated,
}

/// <summary>Everything the daemon needs, bound from upstream's variable names (and a few command-line flags).</summary>
public sealed record DaemonSettings
{
    public CloudKind Cloud { get; init; } = CloudKind.Aws;

    /// <summary>--instance-type for the simulated cloud.</summary>
    public string SimulatedInstanceType { get; init; } = "m5.large";

    /// <summary>The gRPC Unix socket (upstream's default path).</summary>
    public string SocketPath { get; init; } = Rpc.IpamdChannel.DefaultSocketPath;

    /// <summary>Optional TCP listener for gRPC (upstream's pre-1.23 127.0.0.1:50051); null for none.</summary>
    public IPEndPoint? GrpcTcpEndpoint { get; init; }

    /// <summary>AWS_VPC_K8S_CNI_BACKING_STORE.</summary>
    public string CheckpointPath { get; init; } = "/var/run/aws-node/ipam.json";

    /// <summary>INTROSPECTION_BIND_ADDRESS (null when DISABLE_INTROSPECTION).</summary>
    public IPEndPoint? IntrospectionEndpoint { get; init; } = new(IPAddress.Loopback, 61679);

    /// <summary>Prometheus metrics (":61678"; null when DISABLE_METRICS).</summary>
    public IPEndPoint? MetricsEndpoint { get; init; } = new(IPAddress.Any, 61678);

    /// <summary>Where to write the conflist once the daemon serves (the node becomes network-ready); null for none.</summary>
    public string? CniConfDirectory { get; init; }

    /// <summary>Configure host routes/rules/SNAT (off for a daemon on the in-process simulated cloud with no real ENIs).</summary>
    public bool ManageHostNetwork { get; init; } = true;

    public IpamOptions Ipam { get; init; } = new();

    /// <summary>The Kubernetes API (service account, kubeconfig or explicit server; MY_NODE_NAME, ANNOTATE_POD_IP).</summary>
    public KubernetesApiSettings Kubernetes { get; init; } = new();

    /// <summary>AWS_VPC_ENI_MTU.</summary>
    public int EniMtu { get; init; } = 9001;

    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX.</summary>
    public string VethPrefix { get; init; } = "eni";

    /// <summary>
    /// VPC_CNI_DAEMON_POD_WIRING: the plugin may hand a pod's wiring to the daemon (one call per ADD/DEL). Off by
    /// default: every plugin wires in its own process as upstream's does (measured no faster here, docs/benchmarks.md).
    /// </summary>
    public bool WirePods { get; init; }

    /// <summary>AWS_VPC_K8S_CNI_EXTERNALSNAT.</summary>
    public bool ExternalSnat { get; init; }

    /// <summary>AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS.</summary>
    public IReadOnlyList<IPNetwork> ExcludeSnatCidrs { get; init; } = [];

    /// <summary>AWS_VPC_K8S_CNI_RANDOMIZESNAT.</summary>
    public SnatRandomization SnatRandomization { get; init; } = SnatRandomization.RandomFully;

    /// <summary>AWS_VPC_K8S_CNI_CONNMARK.</summary>
    public uint ConnectionMark { get; init; } = 0x80;

    /// <summary>AWS_VPC_CNI_NODE_PORT_SUPPORT.</summary>
    public bool NodePortSupport { get; init; } = true;

    /// <summary>VPC_CNI_NETFILTER_BACKEND (VpcCni): auto (upstream's detection), iptables or nftables.</summary>
    public ConnmarkBackend NetfilterBackend { get; init; } = ConnmarkBackend.Auto;

    /// <summary>ENABLE_V6_EGRESS: IPv6 egress for an IPv4 cluster's pods (egress-cni); the host forwards IPv6.</summary>
    public bool EnableV6Egress { get; init; }

    /// <summary>AWS_EXTERNAL_SERVICE_CIDRS: IPv4 CIDRs reached through the main table (priority-1535 rules).</summary>
    public IReadOnlyList<IPNetwork> ExternalServiceCidrs { get; init; } = [];

    /// <summary>AWS_VPC_K8S_CNI_LOGLEVEL: the daemon's minimum log level (upstream's default, Debug).</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Debug;

    /// <summary>AWS_VPC_K8S_CNI_LOG_FILE: <c>stdout</c>, <c>stderr</c> or a file path (upstream's default path).</summary>
    public string LogFile { get; init; } = DefaultLogFile;

    /// <summary>
    /// NETWORK_POLICY_ENFORCING_MODE as given (none, strict or standard in any case; upstream passes the spelling on), or
    /// "" when unset: returned in every AddNetwork/DelNetwork reply, and the plugin calls the network policy agent only
    /// when it is not empty.
    /// </summary>
    public string NetworkPolicyMode { get; init; } = "";

    /// <summary>
    /// VPC_CNI_EC2_FLEET_SCHEDULE (VpcCni, default true): with the Kubernetes API, the node's rank among the cluster's
    /// nodes (by creation time, then name) and their count, read from the API server's node list, give the EC2 budget
    /// its slots of a fleet-wide schedule (<see cref="VpcCni.Cloud.IFleetMembership"/>, docs/ec2-budget.md); false registers none.
    /// </summary>
    internal bool Ec2FleetSchedule { get; init; } = true;

    /// <summary>How often the VPC's CIDR blocks are read for the SNAT rules (upstream: 30 s; no variable, tests shorten it).</summary>
    internal TimeSpan VpcCidrCheckInterval { get; init; } = VpcCidrWatcher.DefaultInterval;

    /// <summary>Upstream's default AWS_VPC_K8S_CNI_LOG_FILE.</summary>
    public const string DefaultLogFile = "/host/var/log/aws-routed-eni/ipamd.log";

    /// <summary>
    /// Binds every setting from upstream's variables. Any invalid value, or a value that needs a feature VpcCni does not
    /// have (<see cref="UpstreamSettings"/>), throws <see cref="InvalidSettingException"/> naming the variable, so the
    /// daemon stops at start instead of running with a silent default.
    /// </summary>
    public static DaemonSettings FromEnvironment(EnvironmentReader env) => FromEnvironment(env, validateKubernetes: true);

    /// <param name="env">The variables.</param>
    /// <param name="validateKubernetes">False when the caller adds a Kubernetes source (the run command's flags) and validates after.</param>
    internal static DaemonSettings FromEnvironment(EnvironmentReader env, bool validateKubernetes)
    {
        ArgumentNullException.ThrowIfNull(env);
        var kubernetes = KubernetesApiSettings.FromEnvironment(env);
        UpstreamSettings.ThrowIfUnsupported(env);
        var ipam = new IpamOptions();
        BindIpam(env, ipam);
        var validation = new IpamOptionsValidator().Validate(null, ipam);
        if (validation.Failed)
        {
            throw new InvalidSettingException("IPAM settings", "", validation.FailureMessage);
        }

        var randomize = env.OneOf("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng", "prng", "hashrandom", "none");
        var backend = env.OneOf("VPC_CNI_NETFILTER_BACKEND", "auto", "auto", "iptables", "nftables");
        return new DaemonSettings
        {
            Ipam = ipam,
            Kubernetes = validateKubernetes ? kubernetes.Validated() : kubernetes,
            CheckpointPath = env.String("AWS_VPC_K8S_CNI_BACKING_STORE", "/var/run/aws-node/ipam.json"),
            IntrospectionEndpoint = env.Bool("DISABLE_INTROSPECTION", false) ? null : ParseEndpoint(env, "INTROSPECTION_BIND_ADDRESS", "127.0.0.1:61679"),
            MetricsEndpoint = env.Bool("DISABLE_METRICS", false) ? null : ParseEndpoint(env, "VPC_CNI_METRICS_ADDRESS", "0.0.0.0:61678"),
            EniMtu = env.Int("AWS_VPC_ENI_MTU", 9001, 576, 9001),
            VethPrefix = ValidVethPrefix(env.String("AWS_VPC_K8S_CNI_VETHPREFIX", "eni")),
            WirePods = env.Bool("VPC_CNI_DAEMON_POD_WIRING", false),
            Ec2FleetSchedule = env.Bool("VPC_CNI_EC2_FLEET_SCHEDULE", true),
            ExternalSnat = env.Bool("AWS_VPC_K8S_CNI_EXTERNALSNAT", false),
            ExcludeSnatCidrs = env.Cidrs("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"),
            ExternalServiceCidrs = env.Cidrs("AWS_EXTERNAL_SERVICE_CIDRS"),
            EnableV6Egress = env.Bool("ENABLE_V6_EGRESS", false),
            SnatRandomization = randomize switch { "hashrandom" => SnatRandomization.Random, "none" => SnatRandomization.None, _ => SnatRandomization.RandomFully },
            ConnectionMark = env.UInt32Auto("AWS_VPC_K8S_CNI_CONNMARK", 0x80),
            NodePortSupport = env.Bool("AWS_VPC_CNI_NODE_PORT_SUPPORT", true),
            NetfilterBackend = backend switch { "iptables" => ConnmarkBackend.Iptables, "nftables" => ConnmarkBackend.Nftables, _ => ConnmarkBackend.Auto },
            LogLevel = UpstreamLogLevel.Read(env, "AWS_VPC_K8S_CNI_LOGLEVEL", Microsoft.Extensions.Logging.LogLevel.Debug),
            LogFile = env.String("AWS_VPC_K8S_CNI_LOG_FILE", DefaultLogFile),
            NetworkPolicyMode = ReadNetworkPolicyMode(env),
        };
    }

    /// <summary>
    /// Binds every setting from a configuration section whose keys are upstream's variable names (appsettings.json,
    /// environment or command-line providers); an invalid value throws <see cref="InvalidSettingException"/> naming the key.
    /// </summary>
    public static DaemonSettings FromConfiguration(IConfiguration configuration) => FromEnvironment(new EnvironmentReader(key => configuration[key]));

    /// <summary>
    /// The IPAM part alone (the address family check and WARM_ENI_TARGET, WARM_IP_TARGET, ...), written into
    /// <paramref name="options"/> so the options pattern can bind it; the range rules are <see cref="IpamOptionsValidator"/>'s.
    /// </summary>
    internal static void BindIpam(EnvironmentReader env, IpamOptions options) => IpamUpstreamVariables.Bind(options, env);

    internal static string ValidVethPrefix(string prefix) =>
        Cni.VpcCniPluginConfig.IsValidVethPrefix(prefix)
            ? prefix
            : throw new InvalidSettingException("AWS_VPC_K8S_CNI_VETHPREFIX", prefix, Cni.VpcCniPluginConfig.VethPrefixRule);

    /// <summary>Upstream's rule: empty or unset is "", otherwise none/strict/standard in any case, kept as spelled.</summary>
    internal static string ReadNetworkPolicyMode(EnvironmentReader env)
    {
        const string name = "NETWORK_POLICY_ENFORCING_MODE";
        var value = env.String(name);
        if (value is null)
        {
            return "";
        }

        return value.Equals("none", StringComparison.OrdinalIgnoreCase) || value.Equals("strict", StringComparison.OrdinalIgnoreCase) || value.Equals("standard", StringComparison.OrdinalIgnoreCase)
            ? value
            : throw new InvalidSettingException(name, value, "must be one of none, strict, standard");
    }

    private static IPEndPoint ParseEndpoint(EnvironmentReader env, string name, string defaultValue)
    {
        var text = env.String(name, defaultValue);
        if (text.StartsWith(':'))
        {
            text = "0.0.0.0" + text;
        }

        return IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port > 0
            ? endpoint
            : throw new InvalidSettingException(name, text, "must be host:port (e.g. 127.0.0.1:61679)");
    }
}
