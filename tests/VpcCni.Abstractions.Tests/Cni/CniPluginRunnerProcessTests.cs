using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>
/// The runner as a real Native AOT process, driven by Debian's libcni (cnidriver) exactly as a runtime drives a
/// plugin, and by raw execution for the cases libcni validates before it executes anything.
/// </summary>
public sealed class CniPluginRunnerProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-runner-").FullName;
    private readonly string _pluginDir;

    public CniPluginRunnerProcessTests()
    {
        _pluginDir = Path.Combine(_dir, "bin");
        try
        {
            Directory.CreateDirectory(_pluginDir);
            File.Copy(TestTools.AotSmokeBinary, Path.Combine(_pluginDir, "vpccni-smoke"));
        }
        catch
        {
            // xunit disposes only what it constructed: a failed constructor must not leave the directory behind.
            Directory.Delete(_dir, recursive: true);
            throw;
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Conflist(string version)
    {
        var path = Path.Combine(_dir, $"smk-{version}.conflist");
        File.WriteAllText(path, $$"""{"cniVersion":"{{version}}","name":"smk","plugins":[{"type":"vpccni-smoke"}]}""");
        return path;
    }

    private async Task<JsonNode> DriveAsync(params string[] args)
    {
        var start = new ProcessStartInfo(TestTools.CniDriver) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return JsonNode.Parse(stdout)!;
    }

    private async Task<(int Exit, string Stdout, string Stderr)> ExecAsync(Dictionary<string, string> env, string stdin)
    {
        var start = new ProcessStartInfo(Path.Combine(_pluginDir, "vpccni-smoke"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("0.3.1")]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    public async Task Lifecycle_ThroughLibcni_AddCheckDelSucceed(string version)
    {
        var conflist = Conflist(version);
        var cache = Path.Combine(_dir, "cache");
        string[] common = ["-conflist", conflist, "-plugin-dir", _pluginDir, "-netns", "/var/run/netns/none", "-cache-dir", cache, "-container-id", "c1", "-ifname", "eth0"];

        var add = await DriveAsync(["add", .. common, "-args", "IgnoreUnknown=1;IP=10.1.2.3/32"]);
        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        add["result"]!["cniVersion"]!.GetValue<string>().Should().Be(version);
        add["result"]!["ips"]![0]!["address"]!.GetValue<string>().Should().Be("10.1.2.3/32");

        if (version != "0.3.1")
        {
            var check = await DriveAsync(["check", .. common]);
            check["ok"]!.GetValue<bool>().Should().BeTrue(check.ToJsonString());
        }

        var del = await DriveAsync(["del", .. common]);
        del["ok"]!.GetValue<bool>().Should().BeTrue(del.ToJsonString());
    }

    [Fact]
    public async Task Version_ThroughLibcni_ListsEverySpecVersion()
    {
        var version = await DriveAsync("version", "-conflist", Conflist("1.0.0"), "-plugin-dir", _pluginDir);

        version["plugins"]![0]!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>())
            .Should().Equal(CniVersion.Supported);
    }

    [Fact]
    public async Task StatusAndGc_At110_Succeed()
    {
        string[] common = ["-conflist", Conflist("1.1.0"), "-plugin-dir", _pluginDir];

        (await DriveAsync(["status", .. common]))["ok"]!.GetValue<bool>().Should().BeTrue();
        (await DriveAsync(["gc", .. common, "-valid", "c1/eth0"]))["ok"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task Add_PluginError_ReachesRuntimeWithCode()
    {
        var add = await DriveAsync("add", "-conflist", Conflist("1.0.0"), "-plugin-dir", _pluginDir, "-netns", "/var/run/netns/none",
            "-cache-dir", Path.Combine(_dir, "cache"), "-container-id", "c2", "-ifname", "eth0");

        add["ok"]!.GetValue<bool>().Should().BeFalse();
        add["error"]!["code"]!.GetValue<int>().Should().Be(4);
        add["error"]!["msg"]!.GetValue<string>().Should().Be("CNI_ARGS needs IP=<address/prefix>");
    }

    [Fact]
    public async Task Exec_StrayConsoleWrites_GoToStderrNotStdout()
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "c3", ["CNI_NETNS"] = "/x", ["CNI_IFNAME"] = "eth0", ["CNI_ARGS"] = "IP=10.0.0.9/32",
        };

        var (exit, stdout, stderr) = await ExecAsync(env, """{"cniVersion":"1.0.0","name":"smk","type":"vpccni-smoke"}""");

        exit.Should().Be(0);
        stderr.Should().Contain("stray output");
        CniResult.Parse(Encoding.UTF8.GetBytes(stdout)).Ips.Should().ContainSingle();
    }

    [Theory]
    [InlineData("ADD", "{not json", 6)]
    [InlineData("ADD", """{"cniVersion":"1.0.0","name":"-bad","type":"vpccni-smoke"}""", 7)]
    [InlineData("DEL", """{"cniVersion":"9.0.0","name":"smk","type":"vpccni-smoke"}""", 1)]
    [InlineData("BOGUS", "{}", 4)]
    public async Task Exec_BadInput_ErrorJsonOnStdoutExit1(string command, string stdin, int code)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c4", ["CNI_NETNS"] = "/x", ["CNI_IFNAME"] = "eth0",
        };

        var (exit, stdout, _) = await ExecAsync(env, stdin);

        exit.Should().Be(1);
        CniError.Parse(Encoding.UTF8.GetBytes(stdout)).Code.Should().Be(code);
    }
}
