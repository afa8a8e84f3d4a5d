using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>How branch-ENI (security-group) pods are enforced; upstream's podSGEnforcingMode.</summary>
public enum PodSecurityGroupEnforcingMode
{
    Strict,
    Standard,
}

/// <summary>
/// Typed, validated view of the plugin-specific fields of the VpcCni plugin object, with upstream's names and
/// defaults (aws-cni's netconf). Unlike upstream, an invalid mtu is an error (code 7) instead of a silent 9001.
/// </summary>
public sealed record VpcCniPluginConfig
{
    public const string DefaultVethPrefix = "eni";
    public const int DefaultMtu = 9001;
    public const int MinMtu = 576;
    public const int MaxMtu = 9001;
    public const int MaxVethPrefixLength = 4;
    public const string PodAnnotationsCapability = "io.kubernetes.cri.pod-annotations";
    public const string DefaultIpamdAddress = "/var/run/aws-node/ipamd.sock";
    public const string DefaultNetworkPolicyAgentAddress = "/var/run/aws-node/npa.sock";

    public string VethPrefix { get; init; } = DefaultVethPrefix;

    public int Mtu { get; init; } = DefaultMtu;

    public PodSecurityGroupEnforcingMode PodSGEnforcingMode { get; init; } = PodSecurityGroupEnforcingMode.Strict;

    /// <summary>Null (or "stderr") means stderr; logs never go to stdout.</summary>
    public string? PluginLogFile { get; init; }

    public string? PluginLogLevel { get; init; }

    /// <summary>VpcCni extension "ipamdAddress": the daemon's socket ("unix:///path", a path, or host:port).</summary>
    public string IpamdAddress { get; init; } = DefaultIpamdAddress;

    /// <summary>
    /// VpcCni extension "networkPolicyAgentAddress": the network policy agent's socket (upstream's fixed npa.sock), called
    /// when the daemon's reply names a network policy mode.
    /// </summary>
    public string NetworkPolicyAgentAddress { get; init; } = DefaultNetworkPolicyAgentAddress;

    /// <summary>
    /// VpcCni extension "daemonPodWiring": ask the daemon to wire the pod in the same call that assigns its address
    /// (written by the installer when the daemon's VPC_CNI_DAEMON_POD_WIRING is on). Absent or false, the plugin never
    /// makes that call, so the default ADD and DEL cost no extra round trip.
    /// </summary>
    public bool DaemonPodWiring { get; init; }

    /// <summary>Pod annotations the runtime passed through runtimeConfig, if the capability was enabled.</summary>
    public IReadOnlyDictionary<string, string> PodAnnotations { get; init; } = new Dictionary<string, string>();

    /// <summary>The rule for AWS_VPC_K8S_CNI_VETHPREFIX / vethPrefix, in words.</summary>
    public const string VethPrefixRule = "must be 1 to 4 ASCII letters or digits and not eth, lo or vlan";

    /// <summary>
    /// Host veth names are prefix + 11 hex characters and must fit in 15 bytes, and must not look like the node's own
    /// interfaces (upstream's entrypoint rule). Shared by the plugin config, the daemon and the installer.
    /// </summary>
    public static bool IsValidVethPrefix(string? prefix) =>
        prefix is { Length: >= 1 and <= MaxVethPrefixLength } && prefix is not ("eth" or "lo" or "vlan") && prefix.All(char.IsAsciiLetterOrDigit);

    /// <summary>Reads and validates the fields from a request configuration (code 7 naming the field on error).</summary>
    public static VpcCniPluginConfig From(NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var raw = config.Raw;
        var vethPrefix = NetworkConfig.ReadString(raw, "vethPrefix") ?? DefaultVethPrefix;
        if (!IsValidVethPrefix(vethPrefix))
        {
            throw Invalid("vethPrefix", vethPrefix, VethPrefixRule);
        }

        var mtu = DefaultMtu;
        if (raw.TryGetProperty("mtu", out var mtuElement) && mtuElement.ValueKind != JsonValueKind.Null)
        {
            // Upstream writes the MTU as a string; accept a number too.
            var text = mtuElement.ValueKind switch
            {
                JsonValueKind.String => mtuElement.GetString()!,
                JsonValueKind.Number => mtuElement.GetRawText(),
                _ => throw Invalid("mtu", mtuElement.GetRawText(), "must be an integer"),
            };
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out mtu) || mtu is < MinMtu or > MaxMtu)
            {
                throw Invalid("mtu", text, $"must be an integer from {MinMtu} to {MaxMtu}");
            }
        }

        var modeText = NetworkConfig.ReadString(raw, "podSGEnforcingMode");
        var mode = modeText switch
        {
            null or "" or "strict" => PodSecurityGroupEnforcingMode.Strict,
            "standard" => PodSecurityGroupEnforcingMode.Standard,
            _ => throw Invalid("podSGEnforcingMode", modeText, "must be \"strict\" or \"standard\""),
        };

        var logFile = NetworkConfig.ReadString(raw, "pluginLogFile");
        if (logFile == "stdout")
        {
            throw Invalid("pluginLogFile", logFile, "stdout carries the CNI protocol; use a file path or \"stderr\"");
        }

        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (config.RuntimeConfig is { } runtimeConfig &&
            runtimeConfig.TryGetProperty(PodAnnotationsCapability, out var podAnnotations) &&
            podAnnotations.ValueKind != JsonValueKind.Null)
        {
            if (podAnnotations.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"runtimeConfig.{PodAnnotationsCapability}", podAnnotations.GetRawText(), "must be an object of strings");
            }

            foreach (var annotation in podAnnotations.EnumerateObject())
            {
                annotations[annotation.Name] = annotation.Value.ValueKind == JsonValueKind.String
                    ? annotation.Value.GetString()!
                    : throw Invalid($"runtimeConfig.{PodAnnotationsCapability}.{annotation.Name}", annotation.Value.GetRawText(), "must be a string");
            }
        }

        return new VpcCniPluginConfig
        {
            VethPrefix = vethPrefix,
            DaemonPodWiring = NetworkConfig.ReadBool(raw, "daemonPodWiring"),
            Mtu = mtu,
            PodSGEnforcingMode = mode,
            PluginLogFile = string.IsNullOrEmpty(logFile) || logFile == "stderr" ? null : logFile,
            PluginLogLevel = NetworkConfig.ReadString(raw, "pluginLogLevel"),
            IpamdAddress = ReadAddress(raw, "ipamdAddress", DefaultIpamdAddress),
            NetworkPolicyAgentAddress = ReadAddress(raw, "networkPolicyAgentAddress", DefaultNetworkPolicyAgentAddress),
            PodAnnotations = annotations,
        };
    }

    private static string ReadAddress(JsonElement raw, string field, string defaultAddress)
    {
        var address = NetworkConfig.ReadString(raw, field);
        if (address is null)
        {
            return defaultAddress;
        }

        var isSocket = address.StartsWith('/') || address.StartsWith("unix:///", StringComparison.Ordinal);
        var isTcp = !isSocket && address.Contains(':', StringComparison.Ordinal) && !address.Contains('/', StringComparison.Ordinal);
        return isSocket || isTcp ? address : throw Invalid(field, address, "must be an absolute socket path, unix:///path, or host:port");
    }

    private static CniException Invalid(string field, string value, string rule) =>
        new(CniErrorCode.InvalidNetworkConfig, $"invalid {field}", $"\"{field}\" is \"{value}\": {rule}");
}

/// <summary>The Kubernetes keys runtimes put in CNI_ARGS.</summary>
public sealed record KubernetesPodArgs(string PodName, string PodNamespace, string InfraContainerId, string? PodUid)
{
    public const string PodNameKey = "K8S_POD_NAME";
    public const string PodNamespaceKey = "K8S_POD_NAMESPACE";
    public const string InfraContainerIdKey = "K8S_POD_INFRA_CONTAINER_ID";
    public const string PodUidKey = "K8S_POD_UID";

    /// <summary>Reads the pod identity; unknown keys are an error unless IgnoreUnknown is set (code 4).</summary>
    public static KubernetesPodArgs From(CniArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        args.EnsureOnlyKnownKeys(PodNameKey, PodNamespaceKey, InfraContainerIdKey, PodUidKey);
        return new KubernetesPodArgs(
            args.Get(PodNameKey) ?? "",
            args.Get(PodNamespaceKey) ?? "",
            args.Get(InfraContainerIdKey) ?? "",
            args.Get(PodUidKey));
    }
}
