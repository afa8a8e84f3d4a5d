using System.Net;
using Microsoft.Extensions.Configuration;
using VpcCni.Hosting.Configuration;
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

    /// <summary>AWS_VPC_ENI_MTU.</summary>
    public int EniMtu { get; init; } = 9001;

    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX.</summary>
    public string VethPrefix { get; init; } = "eni";

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

    /// <summary>
    /// Binds every setting from upstream's variables. Any invalid value, or a value that needs a feature VpcCni does not
    /// have (<see cref="UpstreamSettings"/>), throws <see cref="InvalidSettingException"/> naming the variable, so the
    /// daemon stops at start instead of running with a silent default.
    /// </summary>
    public static DaemonSettings FromEnvironment(EnvironmentReader env)
    {
        ArgumentNullException.ThrowIfNull(env);
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
            CheckpointPath = env.String("AWS_VPC_K8S_CNI_BACKING_STORE", "/var/run/aws-node/ipam.json"),
            IntrospectionEndpoint = env.Bool("DISABLE_INTROSPECTION", false) ? null : ParseEndpoint(env, "INTROSPECTION_BIND_ADDRESS", "127.0.0.1:61679"),
            MetricsEndpoint = env.Bool("DISABLE_METRICS", false) ? null : ParseEndpoint(env, "VPC_CNI_METRICS_ADDRESS", "0.0.0.0:61678"),
            EniMtu = env.Int("AWS_VPC_ENI_MTU", 9001, 576, 9001),
            VethPrefix = ValidVethPrefix(env.String("AWS_VPC_K8S_CNI_VETHPREFIX", "eni")),
            ExternalSnat = env.Bool("AWS_VPC_K8S_CNI_EXTERNALSNAT", false),
            ExcludeSnatCidrs = env.Cidrs("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"),
            SnatRandomization = randomize switch { "hashrandom" => SnatRandomization.Random, "none" => SnatRandomization.None, _ => SnatRandomization.RandomFully },
            ConnectionMark = env.UInt32Auto("AWS_VPC_K8S_CNI_CONNMARK", 0x80),
            NodePortSupport = env.Bool("AWS_VPC_CNI_NODE_PORT_SUPPORT", true),
            NetfilterBackend = backend switch { "iptables" => ConnmarkBackend.Iptables, "nftables" => ConnmarkBackend.Nftables, _ => ConnmarkBackend.Auto },
        };
    }

    /// <summary>
    /// Binds every setting from a configuration section whose keys are upstream's variable names (appsettings.json,
    /// environment or command-line providers); an invalid value throws <see cref="InvalidSettingException"/> naming the key.
    /// </summary>
    public static DaemonSettings FromConfiguration(IConfiguration configuration) => FromEnvironment(EnvironmentReader.From(configuration));

    /// <summary>
    /// The IPAM part alone (the address family check and WARM_ENI_TARGET, WARM_IP_TARGET, ...), written into
    /// <paramref name="options"/> so the options pattern can bind it; the range rules are <see cref="IpamOptionsValidator"/>'s.
    /// </summary>
    internal static void BindIpam(EnvironmentReader env, IpamOptions options)
    {
        if (env.Bool("ENABLE_IPv6", false))
        {
            throw new InvalidSettingException("ENABLE_IPv6", "true", "IPv6 clusters are not supported by this version; set ENABLE_IPv6=false");
        }

        if (!env.Bool("ENABLE_IPv4", true))
        {
            throw new InvalidSettingException("ENABLE_IPv4", "false", "exactly one of ENABLE_IPv4/ENABLE_IPv6 must be true, and only IPv4 is supported");
        }

        options.WarmEniTarget = env.Int("WARM_ENI_TARGET", 1);
        options.WarmIpTarget = env.Int("WARM_IP_TARGET", 0);
        options.MinimumIpTarget = env.Int("MINIMUM_IP_TARGET", 0);
        options.WarmPrefixTarget = env.Int("WARM_PREFIX_TARGET", 0);
        options.EnablePrefixDelegation = env.Bool("ENABLE_PREFIX_DELEGATION", false);
        options.MaxEni = env.Int("MAX_ENI", -1, min: -1);
        options.IpCooldownPeriod = env.Seconds("IP_COOLDOWN_PERIOD", TimeSpan.FromSeconds(30));
        options.UseCustomNetworking = env.Bool("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", false);
        options.EnablePodEni = env.Bool("ENABLE_POD_ENI", false);
        options.ManageUntaggedEni = env.Bool("MANAGE_UNTAGGED_ENI", true);
        options.PoolPolicy = env.OneOf("VPC_CNI_POOL_POLICY", "Upstream", "Upstream", "DemandAware") == "DemandAware" ? PoolPolicyKind.DemandAware : PoolPolicyKind.Upstream;
        options.AssignWaitTimeout = env.Seconds("VPC_CNI_ASSIGN_WAIT", TimeSpan.FromSeconds(3));
        options.CountCoolingAsAvailable = env.Bool("VPC_CNI_COUNT_COOLING_AS_AVAILABLE", false);
    }

    internal static string ValidVethPrefix(string prefix) =>
        Cni.VpcCniPluginConfig.IsValidVethPrefix(prefix)
            ? prefix
            : throw new InvalidSettingException("AWS_VPC_K8S_CNI_VETHPREFIX", prefix, Cni.VpcCniPluginConfig.VethPrefixRule);

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
