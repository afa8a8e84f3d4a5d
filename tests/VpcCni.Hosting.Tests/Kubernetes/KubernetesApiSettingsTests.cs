using Microsoft.Extensions.Time.Testing;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class KubernetesApiSettingsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"kcli-sa-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public KubernetesApiSettingsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static EnvironmentReader Env(params (string Key, string Value)[] values) => EnvironmentReader.From(values.ToDictionary(v => v.Key, v => v.Value));

    [Fact]
    public void FromEnvironment_Nothing_NoApi()
    {
        var settings = KubernetesApiSettings.FromEnvironment(Env(), _dir).Validated();

        settings.Source.Should().Be(KubernetesApiSource.None);
        settings.Enabled.Should().BeFalse();
    }

    [Fact]
    public void FromEnvironment_ServiceAccountAndServiceHost_InClusterOverHttps()
    {
        File.WriteAllText(Path.Combine(_dir, "token"), "t");

        var settings = KubernetesApiSettings.FromEnvironment(Env(("KUBERNETES_SERVICE_HOST", "10.100.0.1"), ("KUBERNETES_SERVICE_PORT", "443"), ("MY_NODE_NAME", "n")), _dir).Validated();

        settings.Source.Should().Be(KubernetesApiSource.InCluster);
        settings.Server.Should().Be(new Uri("https://10.100.0.1:443/"));
    }

    [Fact]
    public void FromEnvironment_ClusterEndpoint_OverridesTheServiceAddressAsUpstream()
    {
        File.WriteAllText(Path.Combine(_dir, "token"), "t");

        var settings = KubernetesApiSettings.FromEnvironment(Env(("KUBERNETES_SERVICE_HOST", "10.100.0.1"), ("CLUSTER_ENDPOINT", "https://api.example.test"), ("MY_NODE_NAME", "n")), _dir);

        settings.Server.Should().Be(new Uri("https://api.example.test"));
    }

    [Fact]
    public void FromEnvironment_ServiceHostWithoutToken_NoApi() =>
        KubernetesApiSettings.FromEnvironment(Env(("KUBERNETES_SERVICE_HOST", "10.100.0.1")), _dir).Source.Should().Be(KubernetesApiSource.None);

    [Fact]
    public void FromEnvironment_ExplicitServerAndKubeconfig_VpcCniVariables()
    {
        KubernetesApiSettings.FromEnvironment(Env(("VPC_CNI_KUBE_SERVER", "http://127.0.0.1:6443")), _dir).Source.Should().Be(KubernetesApiSource.Server);
        KubernetesApiSettings.FromEnvironment(Env(("VPC_CNI_KUBECONFIG", "/etc/kubeconfig")), _dir).KubeconfigPath.Should().Be("/etc/kubeconfig");
    }

    [Theory]
    [InlineData("VPC_CNI_KUBE_SERVER", "not a url")]
    [InlineData("VPC_CNI_KUBE_SERVER", "ftp://127.0.0.1")]
    [InlineData("ANNOTATE_POD_IP", "maybe")]
    public void FromEnvironment_MalformedValue_NamesTheVariable(string name, string value)
    {
        var act = () => KubernetesApiSettings.FromEnvironment(Env((name, value)), _dir);

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be(name);
    }

    [Fact]
    public void Validated_ApiWithoutNodeName_StopsNamingMyNodeName()
    {
        var act = () => KubernetesApiSettings.FromEnvironment(Env(("VPC_CNI_KUBE_SERVER", "http://127.0.0.1:6443")), _dir).Validated();

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("MY_NODE_NAME");
    }

    [Fact]
    public void Validated_AnnotatePodIpWithoutApi_StopsNamingIt()
    {
        var act = () => DaemonSettings.FromEnvironment(Env(("ANNOTATE_POD_IP", "true")));

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("ANNOTATE_POD_IP");
    }

    [Fact]
    public void ReadRunSettings_KubeServerFlag_SelectsTheServer()
    {
        var line = CommandLine.Parse(["run", "--kube-server", "http://127.0.0.1:6443"], "run", new HashSet<string>());

        var settings = DaemonCli.ReadRunSettings(line, Env(("MY_NODE_NAME", "node-1"), ("ANNOTATE_POD_IP", "true")));

        line.EnsureAllUsed();
        settings.Kubernetes.Source.Should().Be(KubernetesApiSource.Server);
        settings.Kubernetes.Server.Should().Be(new Uri("http://127.0.0.1:6443"));
        settings.Kubernetes.AnnotatePodIp.Should().BeTrue();
    }

    [Fact]
    public void ReadRunSettings_KubeconfigFlagWithoutNodeName_StopsNamingMyNodeName()
    {
        var line = CommandLine.Parse(["run", "--kubeconfig", "/etc/kubeconfig"], "run", new HashSet<string>());

        var act = () => DaemonCli.ReadRunSettings(line, Env());

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("MY_NODE_NAME");
    }

    [Fact]
    public void ReadRunSettings_BothFlags_UsageError()
    {
        var line = CommandLine.Parse(["run", "--kubeconfig", "/k", "--kube-server", "http://127.0.0.1:1"], "run", new HashSet<string>());

        var act = () => DaemonCli.ReadRunSettings(line, Env(("MY_NODE_NAME", "n")));

        act.Should().Throw<CommandLineException>();
    }

    [Fact]
    public void ServiceAccountToken_FileRotated_NewTokenAfterTheCheckInterval()
    {
        var path = Path.Combine(_dir, "token");
        File.WriteAllText(path, "first\n");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var token = new ServiceAccountToken(path, time);
        token.Current().Should().Be("first");

        File.WriteAllText(path, "second");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        token.Current().Should().Be("first", "the file is checked at most every few seconds");
        time.Advance(ServiceAccountToken.CheckInterval);

        token.Current().Should().Be("second");
    }

    [Fact]
    public async Task InCluster_TokenSentAsBearerAndReReadWhenRotated()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        File.WriteAllText(Path.Combine(_dir, "token"), "token-1");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = new KubernetesApiSettings { Source = KubernetesApiSource.InCluster, Server = server.BaseAddress, ServiceAccountPath = _dir, NodeName = "n" };
        using var connection = KubernetesConnection.Create(settings, time);
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("2"));
        var source = new OwnNodeListWatch(connection, "n");

        await source.ListAsync(CancellationToken.None);
        File.WriteAllText(Path.Combine(_dir, "token"), "token-2");
        File.SetLastWriteTimeUtc(Path.Combine(_dir, "token"), DateTime.UtcNow.AddMinutes(1));
        time.Advance(ServiceAccountToken.CheckInterval);
        await source.ListAsync(CancellationToken.None);

        server.RequestsTo("/api/v1/nodes").Select(r => r.Authorization).Should().Equal("Bearer token-1", "Bearer token-2");
        server.RequestsTo("/api/v1/nodes")[0].Query["fieldSelector"].Should().Be("metadata.name=n");
    }

    [Fact]
    public void Validated_CustomNetworkingWithoutApi_StopsNamingTheVariable()
    {
        var act = () => KubernetesApiSettings.FromEnvironment(Env(("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true")), _dir).Validated();

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG");
    }

    [Fact]
    public void FromEnvironment_CustomNetworkingWithApi_ReadsTheEniConfigKeys()
    {
        var settings = KubernetesApiSettings.FromEnvironment(Env(
            ("VPC_CNI_KUBE_SERVER", "http://127.0.0.1:1"), ("MY_NODE_NAME", "n"), ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"),
            ("ENI_CONFIG_LABEL_DEF", "topology.kubernetes.io/zone")), _dir).Validated();

        settings.CustomNetworking.Should().BeTrue();
        settings.EniConfigLabelKey.Should().Be("topology.kubernetes.io/zone");
        settings.EniConfigAnnotationKey.Should().Be("k8s.amazonaws.com/eniConfig", "the default when unset");
    }
}
