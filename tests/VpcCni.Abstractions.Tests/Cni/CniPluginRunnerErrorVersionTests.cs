using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>Every error object carries cniVersion (spec §Error), also when stdin cannot be decoded.</summary>
public sealed class CniPluginRunnerErrorVersionTests
{
    private static Dictionary<string, string?> Env(string command) => new()
    {
        ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/run/netns/c1", ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/opt/cni/bin",
    };

    private static async Task<JsonNode> ErrorOfAsync(string stdin, string command = "ADD")
    {
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(stdin));
        using var output = new MemoryStream();
        var exit = await new CniPluginRunner(new CniPluginRunnerTests.RecordingPlugin()).RunAsync(Env(command), input, output, TestContext.Current.CancellationToken);
        exit.Should().Be(1);
        return JsonNode.Parse(output.ToArray())!;
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{not json")]
    [InlineData("""{"cniVersion":"one","name":"net","type":"recorder"}""")]
    public async Task RunAsync_UndecodableConfig_ErrorCarriesTheNewestSupportedVersion(string stdin)
    {
        var error = await ErrorOfAsync(stdin);

        error["cniVersion"]!.GetValue<string>().Should().Be(CniVersion.Supported[^1]);
        error["code"]!.GetValue<int>().Should().BeOneOf(6, 7);
    }

    [Fact]
    public async Task RunAsync_ConfigWithAVersionButOtherwiseInvalid_ErrorEchoesThatVersion()
    {
        var error = await ErrorOfAsync("""{"cniVersion":"0.4.0","name":"-bad","type":"recorder"}""");

        error["cniVersion"]!.GetValue<string>().Should().Be("0.4.0");
    }

    [Fact]
    public async Task RunAsync_UnknownCommand_ErrorCarriesAVersion()
    {
        var error = await ErrorOfAsync("""{"cniVersion":"1.0.0","name":"net","type":"recorder"}""", command: "BOGUS");

        error["cniVersion"]!.GetValue<string>().Should().NotBeNullOrEmpty();
    }
}
