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
        docs.Select(d => ((YamlScalarNode)At(d, "kind")).Value).Should().Equal("ServiceAccount", "DaemonSet");
        docs.Should().OnlyContain(d => ((YamlScalarNode)At(d, "metadata", "namespace")).Value == "kube-system");
        ((YamlScalarNode)At(docs[1], "metadata", "name")).Value.Should().Be("aws-node", "a drop-in for upstream's DaemonSet");
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
}
