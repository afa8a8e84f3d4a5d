using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniPluginRunnerTests
{
    private static Dictionary<string, string?> Env(string command) => new()
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = "c1",
        ["CNI_NETNS"] = "/run/netns/c1",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = "/opt/cni/bin",
    };

    private static string Config(string version = "1.0.0") => $$"""{"cniVersion":"{{version}}","name":"net","type":"recorder"}""";

    private static async Task<(int Exit, string Stdout)> RunAsync(ICniPlugin plugin, Dictionary<string, string?> env, string stdin, CniPluginRunnerOptions? options = null)
    {
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(stdin));
        using var output = new MemoryStream();
        var exit = await new CniPluginRunner(plugin, options).RunAsync(env, input, output, TestContext.Current.CancellationToken);
        return (exit, Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public async Task RunAsync_Add_PrintsResultInRequestVersionAndExits0()
    {
        var plugin = new RecordingPlugin();

        var (exit, stdout) = await RunAsync(plugin, Env("ADD"), Config("0.4.0"));

        exit.Should().Be(0);
        plugin.Calls.Should().Equal("ADD c1 eth0");
        stdout.Should().Be("""{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/c1"}],"ips":[{"version":"4","interface":0,"address":"10.0.0.5/32","gateway":"169.254.1.1"}]}""");
    }

    [Fact]
    public async Task RunAsync_AddAtV020_ConvertsHandlerResult()
    {
        var (exit, stdout) = await RunAsync(new RecordingPlugin(), Env("ADD"), Config("0.2.0"));

        exit.Should().Be(0);
        stdout.Should().Be("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.5/32","gateway":"169.254.1.1"}}""");
    }

    [Theory]
    [InlineData("DEL", "1.0.0")]
    [InlineData("CHECK", "0.4.0")]
    [InlineData("STATUS", "1.1.0")]
    [InlineData("GC", "1.1.0")]
    public async Task RunAsync_VerbsWithoutOutput_PrintNothingAndExit0(string command, string version)
    {
        var plugin = new RecordingPlugin();

        var (exit, stdout) = await RunAsync(plugin, Env(command), Config(version));

        exit.Should().Be(0);
        stdout.Should().BeEmpty();
        plugin.Calls.Should().ContainSingle().Which.Should().StartWith(command);
    }

    [Theory]
    [InlineData("CHECK", "0.3.1", "config version does not allow CHECK")]
    [InlineData("STATUS", "1.0.0", "config version does not allow STATUS")]
    [InlineData("GC", "0.4.0", "config version does not allow GC")]
    public async Task RunAsync_VerbBelowItsVersion_Code1WithoutCallingPlugin(string command, string version, string message)
    {
        var plugin = new RecordingPlugin();

        var (exit, stdout) = await RunAsync(plugin, Env(command), Config(version));

        exit.Should().Be(1);
        plugin.Calls.Should().BeEmpty();
        var error = CniError.Parse(Encoding.UTF8.GetBytes(stdout));
        error.Should().Be(new CniError(version, 1, message, error.Details));
    }

    [Fact]
    public async Task RunAsync_UnsupportedConfigVersion_Code1ListingSupported()
    {
        var options = new CniPluginRunnerOptions { SupportedVersions = ["0.4.0", "1.0.0"] };

        var (exit, stdout) = await RunAsync(new RecordingPlugin(), Env("ADD"), Config("0.3.1"), options);

        exit.Should().Be(1);
        var error = CniError.Parse(Encoding.UTF8.GetBytes(stdout));
        error.WellKnownCode.Should().Be(CniErrorCode.IncompatibleVersion);
        error.Details.Should().Contain("0.4.0, 1.0.0");
    }

    [Fact]
    public async Task RunAsync_Version_EchoesRequestVersionAndListsSupported()
    {
        var env = new Dictionary<string, string?> { ["CNI_COMMAND"] = "VERSION" };

        var (exit, stdout) = await RunAsync(new RecordingPlugin(), env, """{"cniVersion":"1.0.0"}""");

        exit.Should().Be(0);
        stdout.Should().Be("""{"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}""");
    }

    [Fact]
    public async Task RunAsync_VersionWithEmptyStdin_AnswersNewest()
    {
        var (exit, stdout) = await RunAsync(new RecordingPlugin(), new() { ["CNI_COMMAND"] = "VERSION" }, "");

        exit.Should().Be(0);
        CniVersionResult.Parse(Encoding.UTF8.GetBytes(stdout)).CniVersion.Should().Be("1.1.0");
    }

    [Fact]
    public async Task RunAsync_VersionWithGarbage_Code6()
    {
        var (exit, stdout) = await RunAsync(new RecordingPlugin(), new() { ["CNI_COMMAND"] = "VERSION" }, "{garbage");

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Code.Should().Be(6);
    }

    [Fact]
    public async Task RunAsync_MissingEnv_Code4WithConfigVersion()
    {
        var (exit, stdout) = await RunAsync(new RecordingPlugin(), new() { ["CNI_COMMAND"] = "ADD" }, Config("0.4.0"));

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Should().Be(
            new CniError("0.4.0", 4, "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing"));
    }

    [Fact]
    public async Task RunAsync_EmptyStdinOnAdd_Code6()
    {
        var (exit, stdout) = await RunAsync(new RecordingPlugin(), Env("ADD"), "");

        exit.Should().Be(1);
        JsonNode.Parse(stdout)!["code"]!.GetValue<int>().Should().Be(6);
    }

    [Fact]
    public async Task RunAsync_StdinTooLarge_Code5()
    {
        var options = new CniPluginRunnerOptions { MaxConfigBytes = 64 };

        var (exit, stdout) = await RunAsync(new RecordingPlugin(), Env("ADD"), Config() + new string(' ', 100), options);

        exit.Should().Be(1);
        JsonNode.Parse(stdout)!["code"]!.GetValue<int>().Should().Be(5);
    }

    [Fact]
    public async Task RunAsync_PluginThrowsCniException_PrintsThatError()
    {
        var plugin = new RecordingPlugin { Failure = new CniException(CniErrorCode.TryAgainLater, "daemon unreachable", "dial unix /var/run/aws-node/ipamd.sock") };

        var (exit, stdout) = await RunAsync(plugin, Env("DEL"), Config());

        exit.Should().Be(1);
        stdout.Should().Be("""{"cniVersion":"1.0.0","code":11,"msg":"daemon unreachable","details":"dial unix /var/run/aws-node/ipamd.sock"}""");
    }

    [Fact]
    public async Task RunAsync_PluginThrowsUnexpected_Code999NotCrash()
    {
        var diagnostics = new StringWriter();
        var plugin = new RecordingPlugin { Failure = new InvalidOperationException("boom") };

        var (exit, stdout) = await RunAsync(plugin, Env("ADD"), Config(), new CniPluginRunnerOptions { Diagnostics = diagnostics });

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Should().Be(new CniError("1.0.0", 999, "boom", "System.InvalidOperationException"));
        diagnostics.ToString().Should().Contain("boom");
    }

    [Fact]
    public async Task RunAsync_PluginCancelled_Code11()
    {
        var plugin = new RecordingPlugin { Failure = new OperationCanceledException() };

        var (exit, stdout) = await RunAsync(plugin, Env("ADD"), Config());

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Code.Should().Be(11);
    }

    [Fact]
    public async Task RunAsync_AddResultWithoutAddressAtV020_Code1CannotConvert()
    {
        var plugin = new RecordingPlugin { AddResult = new CniResult { CniVersion = "1.0.0", Interfaces = [new CniInterface("eth0")] } };

        var (exit, stdout) = await RunAsync(plugin, Env("ADD"), Config("0.2.0"));

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Msg.Should().Be("cannot convert: no valid IP addresses");
    }

    [Fact]
    public async Task RunAsync_GcRequest_PassesValidAttachmentsToPlugin()
    {
        var plugin = new RecordingPlugin();
        var env = new Dictionary<string, string?> { ["CNI_COMMAND"] = "GC", ["CNI_PATH"] = "/opt/cni/bin" };

        var (exit, _) = await RunAsync(plugin, env, """{"cniVersion":"1.1.0","name":"net","type":"recorder","cni.dev/valid-attachments":[{"containerID":"c9","ifname":"eth0"}]}""");

        exit.Should().Be(0);
        plugin.LastRequest!.Config.ValidAttachments.Should().Equal(new CniAttachment("c9", "eth0"));
    }

    [Fact]
    public async Task RunAsync_StatusNotAvailable_Code50()
    {
        var plugin = new RecordingPlugin { Failure = new CniException(CniErrorCode.PluginNotAvailable, "IP pool exhausted") };

        var (exit, stdout) = await RunAsync(plugin, new() { ["CNI_COMMAND"] = "STATUS" }, Config("1.1.0"));

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Should().Be(new CniError("1.1.0", 50, "IP pool exhausted"));
    }

    internal sealed class RecordingPlugin : ICniPlugin
    {
        public List<string> Calls { get; } = [];

        public Exception? Failure { get; init; }

        public CniRequest? LastRequest { get; private set; }

        public CniResult AddResult { get; init; } = new()
        {
            CniVersion = "1.1.0",
            Interfaces = [new CniInterface("eth0") { Sandbox = "/run/netns/c1" }],
            Ips = [new CniIPConfig(IPAddressAndPrefix.Parse("10.0.0.5/32")) { Gateway = IPAddress.Parse("169.254.1.1"), Interface = 0 }],
        };

        public ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
        {
            Note("ADD", request);
            return ValueTask.FromResult(AddResult);
        }

        public ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken) => Record("DEL", request);

        public ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken) => Record("CHECK", request);

        public ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken) => Record("STATUS", request);

        public ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken) => Record("GC", request);

        private ValueTask Record(string verb, CniRequest request)
        {
            Note(verb, request);
            return ValueTask.CompletedTask;
        }

        private void Note(string verb, CniRequest request)
        {
            if (Failure is not null)
            {
                throw Failure;
            }

            LastRequest = request;
            Calls.Add($"{verb} {request.Environment.ContainerId} {request.Environment.IfName}".TrimEnd());
        }
    }
}
