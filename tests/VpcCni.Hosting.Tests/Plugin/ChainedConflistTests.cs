using System.Text;
using VpcCni.Cni;
using VpcCni.Hosting.Node;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Plugin.Wire;

namespace VpcCni.Hosting.Tests.Plugin;

/// <summary>
/// The plugin through the CNI runner, as libcni drives it from the rendered conflist (ADD, then CHECK and DEL with the
/// cached result as prevResult), in the conflist's default 1.0.0 and upstream's 0.4.0 layout.
/// </summary>
public sealed class ChainedConflistTests
{
    private readonly VpcCniPluginTests.FakeIpamd _ipamd = new();
    private readonly VpcCniPluginTests.FakeWiring _wiring = new();

    private static readonly Dictionary<string, string?> BaseEnv = new()
    {
        ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/run/netns/p1", ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/opt/cni/bin",
        ["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default;K8S_POD_INFRA_CONTAINER_ID=c1",
    };

    private async Task<(int Exit, string Stdout)> RunAsync(string command, byte[] config)
    {
        using var plugin = new VpcCniPlugin(_ => _ipamd, _ => _wiring, _ => PluginLogger.None, "test");
        using var input = new MemoryStream(config);
        using var output = new MemoryStream();
        var exit = await new CniPluginRunner(plugin).RunAsync(new Dictionary<string, string?>(BaseEnv) { ["CNI_COMMAND"] = command }, input, output, TestContext.Current.CancellationToken);
        return (exit, Encoding.UTF8.GetString(output.ToArray()));
    }

    [Theory]
    [InlineData(null, "1.0.0")]
    [InlineData("0.4.0", "0.4.0")]
    public async Task Lifecycle_RenderedConflist_AddThenCheckWithPrevResultThenDel(string? conflistVersion, string expectedVersion)
    {
        var options = PluginInstallOptions.FromEnvironment(k => k == "VPC_CNI_CONFLIST_VERSION" ? conflistVersion : null);
        var list = NetworkConfigList.Parse(NodeInstaller.RenderConflist(options));
        var version = list.CniVersion;
        _ipamd.AddReply = new AddNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 2, DeviceNumber = 1 }] };
        _ipamd.Attachment = new GetAttachmentReply { Found = true, IPv4Addr = "10.0.1.7", RouteTableId = 2 };
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 2, DeviceNumber = 1 }] };

        var (addExit, added) = await RunAsync("ADD", list.BuildRequestConfig(0, version));
        // portmap passes the result on unchanged (checked against Debian's 1.1.1 binary); libcni caches it for CHECK and DEL.
        var prev = CniResult.Parse(Encoding.UTF8.GetBytes(added));
        var (checkExit, checkOut) = await RunAsync("CHECK", list.BuildRequestConfig(0, version, prev));
        var (delExit, delOut) = await RunAsync("DEL", list.BuildRequestConfig(0, version, prev));

        version.Should().Be(expectedVersion);
        addExit.Should().Be(0, added);
        prev.CniVersion.Should().Be(version, "the result is printed in the conflist's version");
        prev.Interfaces.Should().HaveCount(3);
        checkExit.Should().Be(0, checkOut);
        checkOut.Should().BeEmpty();
        _wiring.Checks.Should().ContainSingle().Which.Address.ToString().Should().Be("10.0.1.7");
        list.DisableCheck.Should().Be(version == "0.4.0", "only upstream's layout disables CHECK");
        delExit.Should().Be(0, delOut);
        _wiring.Teardowns.Should().ContainSingle();
    }
}
