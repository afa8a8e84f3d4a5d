using VpcCni.Hosting.Node;

namespace VpcCni.Hosting.Tests.Node;

public sealed class NodeInstallerEgressTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-egress-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void InstallEgressPlugin_NextToThePluginSource_CopiedAsEgressCni()
    {
        var app = Directory.CreateDirectory(Path.Combine(_dir, "app")).FullName;
        File.WriteAllText(Path.Combine(app, "vpc-cni"), "plugin");
        File.WriteAllText(Path.Combine(app, "egress-cni"), "egress");
        var bin = Path.Combine(_dir, "opt", "cni", "bin");

        var installed = NodeInstaller.InstallEgressPlugin(Path.Combine(app, "vpc-cni"), null, bin);

        installed.Should().Be(Path.Combine(bin, "egress-cni"));
        File.ReadAllText(installed).Should().Be("egress");
    }

    [Fact]
    public void InstallEgressPlugin_GivenSource_CopiedAsEgressCni()
    {
        File.WriteAllText(Path.Combine(_dir, "vpc-cni"), "plugin");
        var source = Path.Combine(_dir, "elsewhere-egress");
        File.WriteAllText(source, "egress");

        var installed = NodeInstaller.InstallEgressPlugin(Path.Combine(_dir, "vpc-cni"), source, Path.Combine(_dir, "bin"));

        File.ReadAllText(installed).Should().Be("egress");
        Path.GetFileName(installed).Should().Be("egress-cni");
    }

    [Fact]
    public void InstallEgressPlugin_NoneNextToThePluginSource_NotFoundSayingTheConflistChainsIt()
    {
        File.WriteAllText(Path.Combine(_dir, "vpc-cni"), "plugin");

        var act = () => NodeInstaller.InstallEgressPlugin(Path.Combine(_dir, "vpc-cni"), null, Path.Combine(_dir, "bin"));

        act.Should().Throw<FileNotFoundException>().WithMessage($"*{Path.Combine(_dir, "egress-cni")}*always chains egress-cni*--plugin-source*");
        Directory.Exists(Path.Combine(_dir, "bin")).Should().BeFalse();
    }

    [Theory]
    [InlineData("ENABLE_IPv6", "true", new[] { "host-local", "portmap" })]
    [InlineData("ENABLE_V6_EGRESS", "true", new[] { "host-local", "portmap" })]
    [InlineData("ENABLE_V6_EGRESS", "false", new[] { "host-local", "portmap" })]
    public void ChainedPluginTypes_EnabledEgressEntry_AddsItsIpamHostLocal(string variable, string value, string[] expected)
    {
        var options = PluginInstallOptions.FromEnvironment(name => name == variable ? value : null);

        NodeInstaller.ChainedPluginTypes(options).Should().Equal(expected);
    }

    [Fact]
    public void ChainedPluginTypes_IPv6ClusterV4EgressOff_StillHostLocalForTheNamedIpam()
    {
        var options = PluginInstallOptions.FromEnvironment(name => name switch { "ENABLE_IPv6" => "true", "ENABLE_V4_EGRESS" => "false", _ => null });

        NodeInstaller.ChainedPluginTypes(options).Should().Equal("host-local", "portmap");
    }
}
