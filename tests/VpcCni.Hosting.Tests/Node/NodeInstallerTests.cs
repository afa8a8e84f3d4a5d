using System.Text.Json.Nodes;
using VpcCni.Cni;
using VpcCni.Hosting.Node;

namespace VpcCni.Hosting.Tests.Node;

public sealed class NodeInstallerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PluginInstallOptions FromEnv(params (string Key, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Key, v => v.Value);
        return PluginInstallOptions.FromEnvironment(k => map.GetValueOrDefault(k));
    }

    [Fact]
    public void RenderConflist_Defaults_Version100WithCheckAndOurPluginDisabledEgressAndPortmap()
    {
        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(new PluginInstallOptions()));

        conflist.CniVersion.Should().Be("1.0.0");
        conflist.Name.Should().Be("aws-cni");
        conflist.DisableCheck.Should().BeFalse("our plugin implements CHECK");
        conflist.Raw.TryGetProperty("disableCheck", out _).Should().BeFalse();
        conflist.Plugins.Select(p => p.GetProperty("type").GetString()).Should().Equal("vpc-cni", "egress-cni", "portmap");
        conflist.Plugins[1].GetProperty("enabled").GetString().Should().Be("false");

        var request = NetworkConfig.Parse(conflist.BuildRequestConfig(0, "1.0.0"));
        var plugin = VpcCniPluginConfig.From(request);
        plugin.Should().BeEquivalentTo(new VpcCniPluginConfig
        {
            VethPrefix = "eni", Mtu = 9001, PluginLogFile = "/var/log/aws-routed-eni/plugin.log", PluginLogLevel = "Debug",
            IpamdAddress = "/var/run/aws-node/ipamd.sock",
        });
    }

    [Theory]
    [InlineData(null, "1.0.0", false)]
    [InlineData("1.0.0", "1.0.0", false)]
    [InlineData("0.4.0", "0.4.0", true)]
    public void RenderConflist_ConflistVersionVariable_ChoosesOursOrUpstreamsLayout(string? value, string version, bool disableCheck)
    {
        var options = value is null ? FromEnv() : FromEnv(("VPC_CNI_CONFLIST_VERSION", value));

        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(options));

        conflist.CniVersion.Should().Be(version);
        conflist.DisableCheck.Should().Be(disableCheck);
        conflist.Plugins.Select(p => p.GetProperty("type").GetString()).Should().Equal("vpc-cni", "egress-cni", "portmap");
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    public void RenderConflist_DaemonPodWiringVariable_ConflistAsksThePluginOnlyWhenOn(string? value, bool asked)
    {
        var options = value is null ? FromEnv() : FromEnv(("VPC_CNI_DAEMON_POD_WIRING", value));

        var conflist = NetworkConfigList.Parse(NodeInstaller.RenderConflist(options));

        conflist.Plugins[0].TryGetProperty("daemonPodWiring", out var field).Should().Be(asked);
        if (asked)
        {
            field.GetBoolean().Should().BeTrue();
        }
    }

    [Theory]
    [InlineData("1.1.0")]
    [InlineData("0.3.1")]
    [InlineData("latest")]
    public void FromEnvironment_ConflistVersionOtherThan100Or040_ErrorNamesVariable(string value)
    {
        var act = () => FromEnv(("VPC_CNI_CONFLIST_VERSION", value));

        act.Should().Throw<ArgumentException>().WithMessage("*VPC_CNI_CONFLIST_VERSION*");
    }

    [Fact]
    public void FromEnvironment_UpstreamVariables_Applied()
    {
        var options = FromEnv(("AWS_VPC_K8S_CNI_VETHPREFIX", "abc"), ("AWS_VPC_ENI_MTU", "1500"), ("POD_SECURITY_GROUP_ENFORCING_MODE", "standard"),
            ("AWS_VPC_K8S_PLUGIN_LOG_FILE", "/tmp/p.log"), ("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "Info"), ("ENABLE_BANDWIDTH_PLUGIN", "true"));

        options.Should().BeEquivalentTo(new PluginInstallOptions
        {
            VethPrefix = "abc", PodMtu = 1500, PodSGEnforcingMode = "standard", PluginLogFile = "/tmp/p.log", PluginLogLevel = "Info", EnableBandwidthPlugin = true,
        });
        JsonNode.Parse(NodeInstaller.RenderConflist(options))!["plugins"]!.AsArray().Select(p => p!["type"]!.GetValue<string>())
            .Should().Equal("vpc-cni", "egress-cni", "portmap", "bandwidth");
    }

    [Fact]
    public void FromEnvironment_PodMtuOverridesEniMtu()
    {
        FromEnv(("AWS_VPC_ENI_MTU", "9001"), ("POD_MTU", "1400")).PodMtu.Should().Be(1400);
    }

    [Theory]
    [InlineData("AWS_VPC_K8S_CNI_VETHPREFIX", "abcde")]
    [InlineData("AWS_VPC_K8S_CNI_VETHPREFIX", "eth")]
    [InlineData("AWS_VPC_K8S_CNI_VETHPREFIX", "")]
    [InlineData("AWS_VPC_ENI_MTU", "575")]
    [InlineData("AWS_VPC_ENI_MTU", "abc")]
    [InlineData("POD_MTU", "9002")]
    [InlineData("POD_SECURITY_GROUP_ENFORCING_MODE", "loose")]
    [InlineData("AWS_VPC_K8S_PLUGIN_LOG_FILE", "stdout")]
    [InlineData("ENABLE_BANDWIDTH_PLUGIN", "maybe")]
    [InlineData("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "verbose")]
    public void FromEnvironment_InvalidValue_ErrorNamesVariable(string name, string value)
    {
        var act = () => FromEnv((name, value));
        act.Should().Throw<ArgumentException>().WithMessage($"*{name}*");
    }

    [Fact]
    public void InstallPlugin_CopiesExecutableAtomically()
    {
        var source = Path.Combine(_dir, "src-plugin");
        File.WriteAllBytes(source, [1, 2, 3]);
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var installed = NodeInstaller.InstallPlugin(source, Path.Combine(_dir, "opt", "cni", "bin"));

        installed.Should().EndWith("/opt/cni/bin/vpc-cni");
        File.ReadAllBytes(installed).Should().Equal(1, 2, 3);
        File.GetUnixFileMode(installed).Should().HaveFlag(UnixFileMode.UserExecute);
    }

    [Fact]
    public void InstallPlugin_MissingSource_NamesIt()
    {
        var act = () => NodeInstaller.InstallPlugin(Path.Combine(_dir, "nope"), _dir);
        act.Should().Throw<FileNotFoundException>().WithMessage("*nope*");
    }

    [Fact]
    public void WriteConflist_WritesParsableFile()
    {
        var path = NodeInstaller.WriteConflist(new PluginInstallOptions { IpamdAddress = "/run/x/ipamd.sock" }, Path.Combine(_dir, "net.d"));

        path.Should().EndWith("net.d/10-aws.conflist");
        NetworkConfigList.Parse(File.ReadAllBytes(path)).Plugins[0].GetProperty("ipamdAddress").GetString().Should().Be("/run/x/ipamd.sock");
    }

    [Fact]
    public void InstallChainedPlugins_PortmapAndBandwidth_CopiedUnderTheirTypes()
    {
        var source = Directory.CreateDirectory(Path.Combine(_dir, "reference")).FullName;
        File.WriteAllBytes(Path.Combine(source, "portmap"), [7]);
        File.WriteAllBytes(Path.Combine(source, "bandwidth"), [8]);
        File.WriteAllBytes(Path.Combine(source, "host-local"), [9]);
        var bin = Path.Combine(_dir, "bin");

        var installed = NodeInstaller.InstallChainedPlugins(new PluginInstallOptions { EnableBandwidthPlugin = true }, source, bin);

        // host-local first: the IPAM of the egress entry the conflist always carries.
        installed.Should().Equal(Path.Combine(bin, "host-local"), Path.Combine(bin, "portmap"), Path.Combine(bin, "bandwidth"));
        File.ReadAllBytes(Path.Combine(bin, "portmap")).Should().Equal(7);
        File.ReadAllBytes(Path.Combine(bin, "bandwidth")).Should().Equal(8);
    }

    [Fact]
    public void InstallChainedPlugins_PortmapMissing_NamesIt()
    {
        File.WriteAllBytes(Path.Combine(_dir, "host-local"), [9]);
        var act = () => NodeInstaller.InstallChainedPlugins(new PluginInstallOptions(), _dir, Path.Combine(_dir, "bin"));
        act.Should().Throw<FileNotFoundException>().WithMessage("*portmap*");
    }
}
