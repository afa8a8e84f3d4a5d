using VpcCni.Configuration;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;
using YamlDotNet.RepresentationModel;

namespace VpcCni.Hosting.Tests.Deploy;

/// <summary>deploy/vpc-cni.yaml stays valid YAML with the objects and wiring a node needs.</summary>
public sealed class ManifestTests
{
    private static List<YamlMappingNode> Documents()
    {
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "VpcCni.sln")))
        {
            repo = Path.GetDirectoryName(repo)!;
        }

        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(repo, "deploy", "vpc-cni.yaml")));
        stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string[] Strings(YamlNode node) => [.. ((YamlSequenceNode)node).Children.Select(c => ((YamlScalarNode)c).Value!)];

    [Fact]
    public void Manifest_HasServiceAccountAndDaemonSetInKubeSystem()
    {
        var docs = Documents();
        docs.Select(d => ((YamlScalarNode)At(d, "kind")).Value).Should().Equal("ServiceAccount", "DaemonSet", "ClusterRole", "ClusterRoleBinding");
        docs.Take(2).Should().OnlyContain(d => ((YamlScalarNode)At(d, "metadata", "namespace")).Value == "kube-system");
        ((YamlScalarNode)At(docs[1], "metadata", "name")).Value.Should().Be("aws-node", "a drop-in for upstream's DaemonSet");
    }

    private static Dictionary<(string Group, string Resource), string[]> Rules()
    {
        var role = Documents().Single(d => ((YamlScalarNode)At(d, "kind")).Value == "ClusterRole");
        var rules = new Dictionary<(string, string), string[]>();
        foreach (var rule in ((YamlSequenceNode)At(role, "rules")).Children)
        {
            foreach (var group in Strings(At(rule, "apiGroups")))
            {
                foreach (var resource in Strings(At(rule, "resources")))
                {
                    rules[(group, resource)] = Strings(At(rule, "verbs"));
                }
            }
        }

        return rules;
    }

    [Fact]
    public void ClusterRole_LeastPrivilege_ExactlyWhatTheDaemonCalls()
    {
        var rules = Rules();

        rules.Keys.Should().BeEquivalentTo(new[]
        {
            ("", "nodes"), ("", "pods"), ("", "events"), ("crd.k8s.amazonaws.com", "eniconfigs"), ("vpcresources.k8s.aws", "cninodes"),
            ("networking.k8s.aws", "policyendpoints"), ("networking.k8s.aws", "policyendpoints/status"),
        });
        rules[("", "nodes")].Should().BeEquivalentTo("get", "list", "watch");
        rules[("", "pods")].Should().BeEquivalentTo("get", "list", "watch", "patch");
        rules[("", "events")].Should().BeEquivalentTo("create", "patch");
        rules[("crd.k8s.amazonaws.com", "eniconfigs")].Should().BeEquivalentTo("get", "list", "watch");
        rules[("vpcresources.k8s.aws", "cninodes")].Should().BeEquivalentTo(["get", "patch"], "custom networking reads its node's CNINode and patches its feature");
        rules[("networking.k8s.aws", "policyendpoints")].Should().BeEquivalentTo(["get", "list", "watch"], "the network policy agent reads the resolved policies");
        rules[("networking.k8s.aws", "policyendpoints/status")].Should().BeEquivalentTo("get");
        rules.Values.SelectMany(v => v).Should().NotContain(["*", "delete", "deletecollection", "update"]);
    }

    [Fact]
    public void ClusterRoleBinding_BindsTheDaemonSetsServiceAccount()
    {
        var docs = Documents();
        var binding = docs.Single(d => ((YamlScalarNode)At(d, "kind")).Value == "ClusterRoleBinding");
        ((YamlScalarNode)At(binding, "roleRef", "name")).Value.Should().Be("aws-node");
        var subject = ((YamlSequenceNode)At(binding, "subjects")).Children.Single();
        ((YamlScalarNode)At(subject, "kind")).Value.Should().Be("ServiceAccount");
        ((YamlScalarNode)At(subject, "name")).Value.Should().Be(((YamlScalarNode)At(docs[1], "spec", "template", "spec", "serviceAccountName")).Value);
        ((YamlScalarNode)At(subject, "namespace")).Value.Should().Be("kube-system");
    }

    [Fact]
    public void DaemonSet_RunsOnTheHostNetworkWithTheCapabilitiesAndPaths()
    {
        var spec = At(Documents()[1], "spec", "template", "spec");
        ((YamlScalarNode)At(spec, "hostNetwork")).Value.Should().Be("true");
        var container = (YamlMappingNode)((YamlSequenceNode)At(spec, "containers")).Children[0];
        Strings(At(container, "securityContext", "capabilities", "add")).Should().BeEquivalentTo("NET_ADMIN", "NET_RAW");
        var hostPaths = ((YamlSequenceNode)At(spec, "volumes")).Children.Select(v => ((YamlScalarNode)At(v, "hostPath", "path")).Value);
        hostPaths.Should().Contain(["/opt/cni/bin", "/etc/cni/net.d", "/var/run/aws-node", "/run/xtables.lock"]);
    }

    [Fact]
    public void DaemonSet_CommandsAndProbesUseRealDaemonFlags()
    {
        var spec = At(Documents()[1], "spec", "template", "spec");
        var container = (YamlMappingNode)((YamlSequenceNode)At(spec, "containers")).Children[0];
        Strings(At(container, "command")).Should().Equal("/app/vpc-cni-ipamd", "run");
        var runArgs = Strings(At(container, "args"));
        var line = CommandLine.Parse(["run", .. runArgs], "run", new HashSet<string> { "no-host-network" });
        var settings = DaemonCli.ReadRunSettings(line, EnvironmentReader.From(new Dictionary<string, string>()));
        line.EnsureAllUsed();
        settings.SocketPath.Should().Be("/var/run/aws-node/ipamd.sock");
        settings.CniConfDirectory.Should().Be("/host/etc/cni/net.d");

        foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
        {
            Strings(At(container, probe, "exec", "command")).Should().StartWith(["/app/vpc-cni-ipamd", "health", "--socket", "/var/run/aws-node/ipamd.sock"]);
        }

        var init = (YamlMappingNode)((YamlSequenceNode)At(spec, "initContainers")).Children[0];
        Strings(At(init, "command")).Should().Equal("/app/vpc-cni-ipamd", "init");
        Strings(At(init, "args")).Should().Equal("--plugin-source", "/app/vpc-cni", "--cni-bin-dir", "/host/opt/cni/bin");
    }

    private static List<YamlMappingNode> Containers(string key) =>
        [.. ((YamlSequenceNode)At(At(Documents()[1], "spec", "template", "spec"), key)).Children.Cast<YamlMappingNode>()];

    private static IEnumerable<string> EnvNames(YamlMappingNode container) =>
        container.Children.TryGetValue(new YamlScalarNode("env"), out var env)
            ? ((YamlSequenceNode)env).Children.Select(e => ((YamlScalarNode)At(e, "name")).Value!)
            : [];

    [Fact]
    public void DaemonSet_EveryVariableOfOurContainers_IsReadBySomething()
    {
        var ours = Containers("initContainers").Concat(Containers("containers")).Where(c => c.Children.ContainsKey(new YamlScalarNode("command")) && Strings(At(c, "command"))[0] == "/app/vpc-cni-ipamd").ToList();
        var rows = UpstreamSettings.All.ToDictionary(r => r.Name);

        ours.Should().HaveCount(2, "the init container and aws-node");
        foreach (var name in ours.SelectMany(EnvNames))
        {
            rows.Should().ContainKey(name, "the manifest sets only upstream variables the table knows");
            rows[name].Support.Should().NotBe(UpstreamSettingSupport.NoEffect, $"{name} is set in the manifest, so something must read it");
        }
    }

    [Fact]
    public void DaemonSet_RunArgs_LeaveTheCheckpointPathToTheBackingStoreVariable()
    {
        var container = Containers("containers")[0];
        var runArgs = Strings(At(container, "args"));
        var line = CommandLine.Parse(["run", .. runArgs], "run", new HashSet<string> { "no-host-network" });

        var settings = DaemonCli.ReadRunSettings(line, EnvironmentReader.From(new Dictionary<string, string> { ["AWS_VPC_K8S_CNI_BACKING_STORE"] = "/var/run/aws-node/other.json" }));
        var defaults = DaemonCli.ReadRunSettings(CommandLine.Parse(["run", .. runArgs], "run", new HashSet<string> { "no-host-network" }), EnvironmentReader.From(new Dictionary<string, string>()));

        runArgs.Should().NotContain("--checkpoint");
        settings.CheckpointPath.Should().Be("/var/run/aws-node/other.json");
        defaults.CheckpointPath.Should().Be("/var/run/aws-node/ipam.json", "upstream's default");
    }

    [Fact]
    public void DaemonSet_NetworkPolicyAgent_SharesTheRunDirectoryWithTheDaemon()
    {
        var spec = At(Documents()[1], "spec", "template", "spec");
        var containers = Containers("containers");
        var agent = containers.Single(c => ((YamlScalarNode)At(c, "name")).Value == "aws-eks-nodeagent");
        string? MountOf(YamlMappingNode container, string path) => ((YamlSequenceNode)At(container, "volumeMounts")).Children
            .Where(m => ((YamlScalarNode)At(m, "mountPath")).Value == path).Select(m => ((YamlScalarNode)At(m, "name")).Value).SingleOrDefault();
        var hostPaths = ((YamlSequenceNode)At(spec, "volumes")).Children.ToDictionary(v => ((YamlScalarNode)At(v, "name")).Value!, v => ((YamlScalarNode)At(v, "hostPath", "path")).Value);

        ((YamlScalarNode)At(agent, "image")).Value.Should().StartWith("602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v");
        MountOf(agent, "/var/run/aws-node").Should().NotBeNull().And.Be(MountOf(containers[0], "/var/run/aws-node"), "npa.sock and ipamd.sock live in the same directory");
        hostPaths[MountOf(agent, "/var/run/aws-node")!].Should().Be("/var/run/aws-node");
        hostPaths[MountOf(agent, "/sys/fs/bpf")!].Should().Be("/sys/fs/bpf");
        EnvNames(agent).Should().Equal("MY_NODE_NAME");
        Strings(At(agent, "args")).Should().Contain(["--enable-network-policy=false", "--enable-ipv6=false"]);
        ((YamlScalarNode)At(agent, "securityContext", "privileged")).Value.Should().Be("true", "it attaches eBPF programs");
    }
}
