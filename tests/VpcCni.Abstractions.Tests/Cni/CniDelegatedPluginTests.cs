using System.Text;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>The IPAM delegation helper against small shell-script delegates in a temporary CNI_PATH directory.</summary>
public sealed class CniDelegatedPluginTests : IDisposable
{
    private static readonly byte[] Config = Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"net","type":"upper","ipam":{"type":"fake"},"extra":1}""");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("vpccni-delegate-");

    private CniEnvironment Environment(CniCommand command = CniCommand.Add) => CniEnvironment.Parse(new Dictionary<string, string?>
    {
        ["CNI_COMMAND"] = command.ToString().ToUpperInvariant(),
        ["CNI_CONTAINERID"] = "c1",
        ["CNI_NETNS"] = "/run/netns/p",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_ARGS"] = "K8S_POD_NAME=a;IgnoreUnknown=1",
        ["CNI_PATH"] = $"/nonexistent:{_dir.FullName}",
    });

    private void Delegate(string name, string script)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, "#!/bin/sh\n" + script);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task AddAsync_Delegate_GetsTheSameEnvironmentAndTheConfigBytesAndItsResultIsParsed()
    {
        // The delegate records what it got, then answers an abbreviated IPAM result.
        Delegate("fake", $$"""
            env | grep ^CNI_ | sort > {{_dir.FullName}}/env
            cat > {{_dir.FullName}}/stdin
            echo '{"cniVersion":"1.0.0","ips":[{"address":"169.254.172.2/22","gateway":"169.254.172.1"}],"routes":[{"dst":"0.0.0.0/0"}]}'
            """);

        var result = await CniDelegatedPlugin.AddAsync("fake", Environment(), Config, "1.0.0", TestContext.Current.CancellationToken);

        result.Ips.Should().ContainSingle().Which.Address.ToString().Should().Be("169.254.172.2/22");
        result.Routes.Should().ContainSingle();
        File.ReadAllBytes(Path.Combine(_dir.FullName, "stdin")).Should().Equal(Config);
        File.ReadAllLines(Path.Combine(_dir.FullName, "env")).Should().Equal(
            "CNI_ARGS=K8S_POD_NAME=a;IgnoreUnknown=1",
            "CNI_COMMAND=ADD",
            "CNI_CONTAINERID=c1",
            "CNI_IFNAME=eth0",
            "CNI_NETNS=/run/netns/p",
            $"CNI_PATH=/nonexistent:{_dir.FullName}");
    }

    [Fact]
    public async Task DeleteAsync_Delegate_RunsWithCommandDel()
    {
        Delegate("fake", $"echo $CNI_COMMAND > {_dir.FullName}/command\n");

        await CniDelegatedPlugin.DeleteAsync("fake", Environment(), Config, TestContext.Current.CancellationToken);

        File.ReadAllText(Path.Combine(_dir.FullName, "command")).Trim().Should().Be("DEL");
    }

    [Fact]
    public async Task ExecuteAsync_DelegateErrorObject_KeepsItsCodeAndMessage()
    {
        Delegate("fake", """echo '{"cniVersion":"1.0.0","code":11,"msg":"no IP addresses available","details":"range full"}'; exit 1""" + "\n");

        var act = () => CniDelegatedPlugin.AddAsync("fake", Environment(), Config, "1.0.0", TestContext.Current.CancellationToken);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Code.Should().Be(CniErrorCode.TryAgainLater);
        error.Message.Should().Be("no IP addresses available");
        error.Details.Should().Be("range full");
    }

    [Fact]
    public async Task ExecuteAsync_DelegateFailsWithoutJson_IsInternalWithTheExitStatus()
    {
        Delegate("fake", "echo oops >&2; exit 3\n");

        var act = () => CniDelegatedPlugin.DeleteAsync("fake", Environment(), Config, TestContext.Current.CancellationToken);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Code.Should().Be(CniErrorCode.Internal);
        error.Message.Should().Contain("exit status 3");
    }

    [Fact]
    public void Find_NotInAnyPathDirectory_IsInvalidNetworkConfigNamingThePath()
    {
        var act = () => CniDelegatedPlugin.Find("host-local", ["/nonexistent", _dir.FullName]);

        var error = act.Should().Throw<CniException>().Which;
        error.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
        error.Message.Should().Be("failed to find plugin \"host-local\" in path");
        error.Details.Should().Contain(_dir.FullName);
    }

    [Theory]
    [InlineData("../bin/sh")]
    [InlineData("")]
    public void Find_TypeWithPath_IsRefused(string type)
    {
        var act = () => CniDelegatedPlugin.Find(type, [_dir.FullName]);

        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
