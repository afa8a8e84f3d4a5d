using VpcCni.Configuration;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>Where the daemon finds the Kubernetes API.</summary>
public enum KubernetesApiSource
{
    /// <summary>No API: the engine runs alone (no node capacity, no pod evidence, no annotations or events).</summary>
    None,

    /// <summary>The pod's service account (token and CA under <see cref="KubernetesApiSettings.ServiceAccountPath"/>) and KUBERNETES_SERVICE_HOST/PORT or CLUSTER_ENDPOINT.</summary>
    InCluster,

    /// <summary>A kubeconfig file (--kubeconfig, VPC_CNI_KUBECONFIG).</summary>
    Kubeconfig,

    /// <summary>An explicit server URL without credentials (--kube-server, VPC_CNI_KUBE_SERVER): the emulator, tests.</summary>
    Server,
}

/// <summary>
/// The daemon's Kubernetes API connection and what it does with it, bound from upstream's variables (MY_NODE_NAME,
/// ANNOTATE_POD_IP, CLUSTER_ENDPOINT, the service account) and VpcCni's (VPC_CNI_KUBECONFIG, VPC_CNI_KUBE_SERVER, or
/// the run command's --kubeconfig and --kube-server).
/// </summary>
public sealed record KubernetesApiSettings
{
    /// <summary>Where the kubelet mounts a pod's service-account token, CA and namespace.</summary>
    public const string DefaultServiceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    public KubernetesApiSource Source { get; init; }

    /// <summary>The API server (in-cluster and explicit-server sources); a kubeconfig names its own.</summary>
    public Uri? Server { get; init; }

    /// <summary>The kubeconfig file (<see cref="KubernetesApiSource.Kubeconfig"/>).</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>The service-account directory (token, ca.crt) for <see cref="KubernetesApiSource.InCluster"/>.</summary>
    public string ServiceAccountPath { get; init; } = DefaultServiceAccountPath;

    /// <summary>MY_NODE_NAME: the Node this daemon runs on (field selectors of the node and pod watches).</summary>
    public string? NodeName { get; init; }

    /// <summary>MY_POD_NAME: this daemon's own pod (aws-node-xxxxx), the events' reportingInstance; the node name when unset.</summary>
    public string? PodName { get; init; }

    /// <summary>ANNOTATE_POD_IP: write the pod's IP to annotation vpc.amazonaws.com/pod-ips on ADD (cleared on DEL).</summary>
    public bool AnnotatePodIp { get; init; }

    /// <summary>
    /// AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: new ENIs go to the node's ENIConfig subnet(s) with its security groups (the
    /// ENIConfigs are watched; the primary ENI carries no pods, which the IPAM options say separately).
    /// </summary>
    public bool CustomNetworking { get; init; }

    /// <summary>ENI_CONFIG_ANNOTATION_DEF: the node annotation naming its ENIConfig.</summary>
    public string EniConfigAnnotationKey { get; init; } = EniConfigSelector.DefaultKey;

    /// <summary>ENI_CONFIG_LABEL_DEF: the node label naming its ENIConfig (e.g. topology.kubernetes.io/zone).</summary>
    public string EniConfigLabelKey { get; init; } = EniConfigSelector.DefaultKey;

    /// <summary>Full relist of the watched objects this often (informer resync).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long start-up waits for the first pod and node lists before restoring without them.</summary>
    public TimeSpan InitialSyncTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An ADD that waited this long for the pool to grow gets a Warning event on its pod naming why.</summary>
    public TimeSpan SlowAssignEventThreshold { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>At most one event per pod and failure cause in this interval.</summary>
    public TimeSpan EventInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>True when a source is configured.</summary>
    public bool Enabled => Source != KubernetesApiSource.None;

    /// <summary>
    /// Reads the environment: VPC_CNI_KUBE_SERVER, then VPC_CNI_KUBECONFIG, then the service account (its token file
    /// present and KUBERNETES_SERVICE_HOST set; CLUSTER_ENDPOINT overrides the URL, as upstream), else none.
    /// </summary>
    public static KubernetesApiSettings FromEnvironment(EnvironmentReader env, string serviceAccountPath = DefaultServiceAccountPath)
    {
        ArgumentNullException.ThrowIfNull(env);
        var settings = new KubernetesApiSettings
        {
            NodeName = env.String("MY_NODE_NAME"),
            PodName = env.String("MY_POD_NAME"),
            AnnotatePodIp = env.Bool("ANNOTATE_POD_IP", false),
            CustomNetworking = env.Bool("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", false),
            EniConfigAnnotationKey = env.String("ENI_CONFIG_ANNOTATION_DEF") is { Length: > 0 } annotation ? annotation : EniConfigSelector.DefaultKey,
            EniConfigLabelKey = env.String("ENI_CONFIG_LABEL_DEF") is { Length: > 0 } label ? label : EniConfigSelector.DefaultKey,
            ServiceAccountPath = serviceAccountPath,
        };
        if (env.String("VPC_CNI_KUBE_SERVER") is { } server)
        {
            return settings.WithServer(ParseUrl("VPC_CNI_KUBE_SERVER", server));
        }

        if (env.String("VPC_CNI_KUBECONFIG") is { } kubeconfig)
        {
            return settings.WithKubeconfig(kubeconfig);
        }

        var clusterEndpoint = env.String("CLUSTER_ENDPOINT") is { } endpoint ? ParseUrl("CLUSTER_ENDPOINT", endpoint) : null;
        if (env.String("KUBERNETES_SERVICE_HOST") is { } host && File.Exists(Path.Combine(serviceAccountPath, "token")))
        {
            var port = env.Int("KUBERNETES_SERVICE_PORT", 443, 1, 65535);
            var url = clusterEndpoint ?? new UriBuilder(Uri.UriSchemeHttps, host, port).Uri;
            return settings with { Source = KubernetesApiSource.InCluster, Server = url };
        }

        return settings;
    }

    /// <summary>An explicit server without credentials (replaces any other source).</summary>
    public KubernetesApiSettings WithServer(Uri server) => this with { Source = KubernetesApiSource.Server, Server = server, KubeconfigPath = null };

    /// <summary>A kubeconfig file (replaces any other source).</summary>
    public KubernetesApiSettings WithKubeconfig(string path) => this with { Source = KubernetesApiSource.Kubeconfig, KubeconfigPath = path, Server = null };

    /// <summary>
    /// The combinations that cannot run, named by their variable: an API without MY_NODE_NAME (nothing to select), and
    /// ANNOTATE_POD_IP or custom networking without an API (upstream waits for the API forever; VpcCni says so at start).
    /// </summary>
    public KubernetesApiSettings Validated()
    {
        if (Enabled && string.IsNullOrEmpty(NodeName))
        {
            throw new InvalidSettingException("MY_NODE_NAME", "",
                $"is required with the Kubernetes API ({Source}): set it from the downward API (spec.nodeName)");
        }

        if (AnnotatePodIp && !Enabled)
        {
            throw new InvalidSettingException("ANNOTATE_POD_IP", "true",
                "needs the Kubernetes API: run in a pod with a service account, or pass --kubeconfig / --kube-server");
        }

        if (CustomNetworking && !Enabled)
        {
            throw new InvalidSettingException("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true",
                "needs the Kubernetes API (the node's ENIConfig names the subnet and security groups of new ENIs): run in a pod with a service account, or pass --kubeconfig / --kube-server");
        }

        return this;
    }

    /// <summary>A short description for the start-up log line (never a credential).</summary>
    public override string ToString() => Source switch
    {
        KubernetesApiSource.InCluster => $"in-cluster service account, {Server}",
        KubernetesApiSource.Kubeconfig => $"kubeconfig {KubeconfigPath}",
        KubernetesApiSource.Server => $"server {Server}",
        _ => "none",
    };

    private static Uri ParseUrl(string name, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new InvalidSettingException(name, text, "must be an http:// or https:// URL");
}
