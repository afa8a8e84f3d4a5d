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

        var installed = NodeInstaller.InstallEgressPlugin(Path.Combine(app, "vpc-cni"), bin);

        installed.Should().Be(Path.Combine(bin, "egress-cni"));
        File.ReadAllText(installed!).Should().Be("egress");
    }

    [Fact]
    public void InstallEgressPlugin_NoneNextToThePluginSource_InstallsNothing()
    {
        File.WriteAllText(Path.Combine(_dir, "vpc-cni"), "plugin");

        NodeInstaller.InstallEgressPlugin(Path.Combine(_dir, "vpc-cni"), Path.Combine(_dir, "bin")).Should().BeNull();
        Directory.Exists(Path.Combine(_dir, "bin")).Should().BeFalse();
    }

    [Theory]
    [InlineData("ENABLE_IPv6", "true", new[] { "host-local", "portmap" })]
    [InlineData("ENABLE_V6_EGRESS", "true", new[] { "host-local", "portmap" })]
    [InlineData("ENABLE_V6_EGRESS", "false", new[] { "portmap" })]
    public void ChainedPluginTypes_EgressEntry_AddsItsIpamHostLocal(string variable, string value, string[] expected)
    {
        var options = PluginInstallOptions.FromEnvironment(name => name == variable ? value : null);

        NodeInstaller.ChainedPluginTypes(options).Should().Equal(expected);
    }
}
