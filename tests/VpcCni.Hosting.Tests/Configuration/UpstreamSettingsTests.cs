using VpcCni.Configuration;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Node;
using YamlDotNet.RepresentationModel;

namespace VpcCni.Hosting.Tests.Configuration;

/// <summary>Every upstream variable has a decided status, and a value that needs a missing feature stops the daemon.</summary>
public sealed class UpstreamSettingsTests
{
    /// <summary>The variables of reference §1.2 (ipamd), §1.3 (entrypoint), §1.4 (init) and §1.7 (deprecated).</summary>
    private static readonly string[] UpstreamVariables =
    [
        "WARM_ENI_TARGET", "WARM_IP_TARGET", "MINIMUM_IP_TARGET", "WARM_PREFIX_TARGET", "MAX_ENI", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
        "ENI_CONFIG_ANNOTATION_DEF", "ENI_CONFIG_LABEL_DEF", "AWS_MANAGE_ENIS_NON_SCHEDULABLE", "ENABLE_SUBNET_DISCOVERY",
        "DISABLE_NETWORK_RESOURCE_PROVISIONING", "ENABLE_IMDS_ONLY_MODE", "DISABLE_LEAKED_ENI_CLEANUP", "AWS_VPC_K8S_CNI_BACKING_STORE",
        "IP_COOLDOWN_PERIOD", "ENABLE_POD_ENI", "POD_SECURITY_GROUP_ENFORCING_MODE", "ENABLE_PREFIX_DELEGATION", "ENABLE_IPv4", "ENABLE_IPv6",
        "MANAGE_UNTAGGED_ENI", "ANNOTATE_POD_IP", "NETWORK_POLICY_ENFORCING_MODE", "ENABLE_MULTI_NIC", "MY_NODE_NAME", "MY_POD_NAME",
        "CLUSTER_NAME", "ADDITIONAL_ENI_TAGS", "VPC_CNI_VERSION", "AWS_EC2_ENDPOINT", "HTTP_TIMEOUT", "CLUSTER_ENDPOINT",
        "INTROSPECTION_BIND_ADDRESS", "DISABLE_INTROSPECTION", "DISABLE_METRICS", "AWS_VPC_K8S_CNI_LOGLEVEL", "AWS_VPC_K8S_CNI_LOG_FILE",
        "AWS_VPC_K8S_CNI_EXTERNALSNAT", "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "AWS_EXTERNAL_SERVICE_CIDRS", "AWS_VPC_K8S_CNI_RANDOMIZESNAT",
        "AWS_VPC_CNI_NODE_PORT_SUPPORT", "AWS_VPC_K8S_CNI_CONNMARK", "AWS_VPC_ENI_MTU", "AWS_VPC_K8S_CNI_VETHPREFIX", "ENABLE_V6_EGRESS",
        "HOST_CNI_BIN_PATH", "HOST_CNI_CONFDIR_PATH", "POD_MTU", "AWS_VPC_K8S_PLUGIN_LOG_FILE", "AWS_VPC_K8S_PLUGIN_LOG_LEVEL",
        "AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE", "AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE", "ENABLE_V4_EGRESS", "ENABLE_BANDWIDTH_PLUGIN",
        "DISABLE_POD_V6", "DISABLE_TCP_EARLY_DEMUX", "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER", "ENABLE_NFTABLES",
    ];

    public static TheoryData<string> RefusedRows() => [.. UpstreamSettings.All.Where(s => s.Support == UpstreamSettingSupport.Refused).Select(s => s.Name)];

    private static string Repo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository not found");
    }

    private static EnvironmentReader Env(IReadOnlyDictionary<string, string> values) => EnvironmentReader.From(values);

    [Fact]
    public void All_EveryUpstreamVariable_HasExactlyOneRow()
    {
        var names = UpstreamSettings.All.Select(s => s.Name).ToList();

        names.Should().OnlyHaveUniqueItems();
        names.Should().BeEquivalentTo(UpstreamVariables);
        UpstreamSettings.All.Should().OnlyContain(s => s.Reason.Length > 0);
        UpstreamSettings.All.Where(s => s.Support == UpstreamSettingSupport.Refused).Should().OnlyContain(s => s.Refused != null && s.Refuses != null);
        UpstreamSettings.All.Where(s => s.Support != UpstreamSettingSupport.Refused).Should().OnlyContain(s => s.Refused == null && s.Refuses == null);
    }

    [Theory]
    [MemberData(nameof(RefusedRows))]
    public void FromEnvironment_ValueNeedingAMissingFeature_StopsNamingTheVariableAndWhy(string name)
    {
        var row = UpstreamSettings.All.Single(s => s.Name == name);

        var act = () => DaemonSettings.FromEnvironment(Env(new Dictionary<string, string> { [name] = row.Refused! }));

        var thrown = act.Should().Throw<InvalidSettingException>().Which;
        thrown.Name.Should().Be(name);
        thrown.Message.Should().Contain(name).And.Contain(row.Reason);
    }

    [Theory]
    [MemberData(nameof(RefusedRows))]
    public void PluginInstallOptions_ValueNeedingAMissingFeature_StopsInitNamingTheVariable(string name)
    {
        var row = UpstreamSettings.All.Single(s => s.Name == name);

        var act = () => PluginInstallOptions.FromEnvironment(k => k == name ? row.Refused : null);

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be(name);
    }

    [Theory]
    [InlineData("ENABLE_POD_ENI", "1")]
    [InlineData("ENABLE_MULTI_NIC", "TRUE")]
    [InlineData("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true")]
    [InlineData("ANNOTATE_POD_IP", "t")]
    [InlineData("ENABLE_IMDS_ONLY_MODE", "true")]
    [InlineData("NETWORK_POLICY_ENFORCING_MODE", "audit")]
    [InlineData("ENABLE_POD_ENI", "yes")]
    public void FromEnvironment_RefusedOrMalformedSpelling_StopsNamingTheVariable(string name, string value)
    {
        var act = () => DaemonSettings.FromEnvironment(Env(new Dictionary<string, string> { [name] = value }));

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be(name);
    }

    [Fact]
    public void FromEnvironment_EveryAcceptedValueTogether_Starts()
    {
        var values = UpstreamSettings.All.ToDictionary(s => s.Name, s => s.Accepted);

        var settings = DaemonSettings.FromEnvironment(Env(values));
        var plugin = PluginInstallOptions.FromEnvironment(k => values.GetValueOrDefault(k));

        settings.Ipam.EnablePrefixDelegation.Should().BeTrue();
        settings.Ipam.EnablePodEni.Should().BeFalse();
        settings.Ipam.UseCustomNetworking.Should().BeFalse();
        plugin.PodMtu.Should().Be(1500);
    }

    [Theory]
    [InlineData("NETWORK_POLICY_ENFORCING_MODE", "none")]
    [InlineData("NETWORK_POLICY_ENFORCING_MODE", "STANDARD")]
    [InlineData("NETWORK_POLICY_ENFORCING_MODE", "Strict")]
    [InlineData("AWS_VPC_K8S_CNI_LOG_FILE", "stderr")]
    [InlineData("HOST_CNI_BIN_PATH", "/host/opt/cni/bin")]
    [InlineData("ENABLE_POD_ENI", "false")]
    [InlineData("ENABLE_MULTI_NIC", "0")]
    [InlineData("MANAGE_UNTAGGED_ENI", "false")]
    [InlineData("DISABLE_LEAKED_ENI_CLEANUP", "true")]
    public void FromEnvironment_ValueNeedingNoMissingFeature_Starts(string name, string value)
    {
        var act = () => DaemonSettings.FromEnvironment(Env(new Dictionary<string, string> { [name] = value }));

        act.Should().NotThrow();
    }

    [Fact]
    public void Manifest_EnvironmentOfEveryContainer_IsAccepted()
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(Repo(), "deploy", "vpc-cni.yaml"))))
        {
            stream.Load(reader);
        }

        var daemonSet = stream.Documents.Select(d => (YamlMappingNode)d.RootNode).Single(d => ((YamlScalarNode)d.Children[new YamlScalarNode("kind")]).Value == "DaemonSet");
        var spec = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)daemonSet.Children[new YamlScalarNode("spec")]).Children[new YamlScalarNode("template")]).Children[new YamlScalarNode("spec")];
        var containers = new[] { "initContainers", "containers" }.SelectMany(k => ((YamlSequenceNode)spec.Children[new YamlScalarNode(k)]).Children).Cast<YamlMappingNode>().ToList();
        var checkedValues = 0;
        foreach (var container in containers)
        {
            if (!container.Children.TryGetValue(new YamlScalarNode("env"), out var envNode))
            {
                continue;
            }

            var values = new Dictionary<string, string>();
            foreach (var entry in ((YamlSequenceNode)envNode).Children.Cast<YamlMappingNode>())
            {
                if (entry.Children.TryGetValue(new YamlScalarNode("value"), out var value))
                {
                    values[((YamlScalarNode)entry.Children[new YamlScalarNode("name")]).Value!] = ((YamlScalarNode)value).Value!;
                    checkedValues++;
                }
            }

            var act = () => DaemonSettings.FromEnvironment(Env(values));
            act.Should().NotThrow("the manifest must not set a value the daemon refuses");
            var init = () => PluginInstallOptions.FromEnvironment(k => values.GetValueOrDefault(k));
            init.Should().NotThrow();
        }

        checkedValues.Should().BeGreaterThan(10);
    }

    [Fact]
    public void SettingsDoc_ListsEveryRowWithItsStatus()
    {
        var doc = File.ReadAllText(Path.Combine(Repo(), "docs", "settings.md"));

        foreach (var row in UpstreamSettings.All)
        {
            var line = doc.Split('\n').FirstOrDefault(l => l.StartsWith($"| `{row.Name}` |", StringComparison.Ordinal));
            line.Should().NotBeNull($"docs/settings.md must list {row.Name}");
            line.Should().Contain(row.Support switch
            {
                UpstreamSettingSupport.Implemented => "supported",
                UpstreamSettingSupport.NoEffect => "no effect needed",
                _ => "refused",
            }, row.Name);
        }
    }
}
