using System.Diagnostics;
using System.Text.Json.Nodes;
using VpcCni.Hosting.Rpc;

namespace VpcCni.EndToEnd.Tests.Support;

/// <summary>
/// A "node" network namespace with the loopback cloud emulator and the real daemon (AWS provider over the wire) inside
/// it, the plugin and conflist installed by `vpc-cni-ipamd init`, and pods as namespaces added through libcni.
/// Everything is named vce&lt;pid&gt;-*, lives under a temp directory, and is removed on dispose.
/// </summary>
internal sealed class TestNode : IAsyncDisposable
{
    private const int CloudPort = 18080;
    private readonly string _tag = $"vce{Environment.ProcessId}";
    private readonly List<string> _podNamespaces = [];
    private readonly string _instanceType;
    private readonly Dictionary<string, string> _extraEnvironment;
    private Process? _cloud;
    private Process? _daemon;

    private TestNode(string instanceType, Dictionary<string, string> extraEnvironment)
    {
        _instanceType = instanceType;
        _extraEnvironment = extraEnvironment;
        Directory = System.IO.Directory.CreateTempSubdirectory(_tag + "-").FullName;
    }

    public string Namespace => _tag + "-node";

    public string Directory { get; }

    public string Socket => Path.Combine(Directory, "ipamd.sock");

    public string Conflist => Path.Combine(Directory, "net.d", "10-aws.conflist");

    public string PluginDirectory => Path.Combine(Directory, "bin");

    public int DaemonPid => _daemon?.Id ?? 0;

    public static async Task<TestNode> StartAsync(string instanceType = "m5.4xlarge", Dictionary<string, string>? environment = null)
    {
        var node = new TestNode(instanceType, environment ?? []);
        try
        {
            await node.SetupAsync();
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    public async Task<JsonNode> CniAsync(string verb, string containerId, string? podNamespace = null, CancellationToken cancellationToken = default)
    {
        var args = new List<string>
        {
            "netns", "exec", Namespace, Tools.CniDriver, verb, "-conflist", Conflist, "-plugin-dir", PluginDirectory,
            "-cache-dir", Path.Combine(Directory, "cache"), "-container-id", containerId, "-ifname", "eth0",
            "-args", $"IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME={containerId};K8S_POD_INFRA_CONTAINER_ID={containerId}",
            "-cap-args", """{"io.kubernetes.cri.pod-annotations":{},"portMappings":[]}""",
        };
        if (podNamespace is not null)
        {
            args.AddRange(["-netns", $"/run/netns/{podNamespace}"]);
        }

        var (_, stdout, stderr) = await Tools.RunAsync("ip", args, cancellationToken: cancellationToken);
        return JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"cnidriver printed nothing: {stderr}");
    }

    /// <summary>A pod namespace (removed on dispose).</summary>
    public async Task<string> CreatePodNamespaceAsync(string suffix)
    {
        var name = $"{_tag}-{suffix}";
        await Ip("netns", "add", name);
        _podNamespaces.Add(name);
        await Ip("-n", name, "link", "set", "lo", "up");
        return name;
    }

    public async Task<GetAttachmentReply> GetAttachmentAsync(string containerId)
    {
        using var channel = IpamdChannel.Create(Socket, TimeSpan.FromSeconds(5));
        return await new PluginBackend.PluginBackendClient(channel).GetAttachmentAsync(
            new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0" }, deadline: DateTime.UtcNow.AddSeconds(10));
    }

    /// <summary>GET http://127.0.0.1:PORT/PATH inside the node namespace (the daemon binds its HTTP ports there).</summary>
    public async Task<(int Status, string Body)> HttpGetAsync(int port, string path)
    {
        using var ns = VpcCni.Linux.Namespaces.NetworkNamespace.OpenByName(Namespace);
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = VpcCni.Linux.Namespaces.NetworkNamespaceExecutor.Shared.Invoke(ns, static _ =>
                    new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp), 0);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>SIGKILL the daemon (by the process id this fixture started).</summary>
    public void KillDaemon()
    {
        _daemon!.Kill();
        _daemon.WaitForExit(10_000);
        _daemon.Dispose();
        _daemon = null;
    }

    public Task StartDaemonAsync() => StartDaemonCoreAsync();

    /// <summary>SIGTERM the daemon (by the process id this fixture started) and return its exit code.</summary>
    public async Task<int> StopDaemonGracefullyAsync()
    {
        var daemon = _daemon!;
        await Tools.RunAsync("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var exit = daemon.ExitCode;
        daemon.Dispose();
        _daemon = null;
        return exit;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { _daemon, _cloud })
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }

            process?.Dispose();
        }

        foreach (var ns in _podNamespaces.Append(Namespace))
        {
            await Tools.RunAsync("ip", ["netns", "del", ns]);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task Ip(params string[] args)
    {
        var (exit, _, stderr) = await Tools.RunAsync("ip", args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {stderr}");
        }
    }

    private Dictionary<string, string> DaemonEnvironment() => new(_extraEnvironment)
    {
        ["AWS_ACCESS_KEY_ID"] = "e2e",
        ["AWS_SECRET_ACCESS_KEY"] = "e2e-secret",
        ["AWS_REGION"] = "us-west-2",
        ["AWS_ENDPOINT_URL_EC2"] = $"http://127.0.0.1:{CloudPort}/",
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = $"http://127.0.0.1:{CloudPort}/",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["AWS_VPC_K8S_PLUGIN_LOG_FILE"] = Path.Combine(Directory, "log", "plugin.log"),
        ["AWS_VPC_K8S_CNI_LOG_FILE"] = "stdout",
        ["AWS_VPC_K8S_CNI_LOGLEVEL"] = "info",
        ["VPC_CNI_ASSIGN_WAIT"] = "30",
    };

    private async Task SetupAsync()
    {
        await Ip("netns", "add", Namespace);
        await Ip("-n", Namespace, "link", "set", "lo", "up");
        foreach (var dir in new[] { "bin", "net.d", "log", "cache" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, dir));
        }

        _cloud = Start(["netns", "exec", Namespace, "dotnet", Tools.Cloud, "--listen", $"127.0.0.1:{CloudPort}", "--instance-type", _instanceType], [], "cloud.log");
        var init = await Tools.RunAsync("ip",
            ["netns", "exec", Namespace, Path.Combine(Tools.LabBin, "vpc-cni-ipamd"), "init", "--plugin-source", Path.Combine(Tools.LabBin, "vpc-cni"),
             "--cni-bin-dir", PluginDirectory, "--cni-conf-dir", Path.Combine(Directory, "net.d"), "--socket", Socket],
            DaemonEnvironment());
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException($"init failed: {init.Stderr}{init.Stdout}");
        }

        await WaitForCloudAsync();
        await StartDaemonCoreAsync();
    }

    /// <summary>
    /// The emulator is a JIT-started process; on a busy two-core runner it can take longer to listen than the daemon's
    /// IMDS retry budget, so the daemon starts only once the emulator answers.
    /// </summary>
    private async Task WaitForCloudAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await HttpGetAsync(CloudPort, "/latest/meta-data/mac");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or TaskCanceledException)
            {
                if (_cloud!.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"cloud emulator not serving: {e.Message}\n{await File.ReadAllTextAsync(Path.Combine(Directory, "log", "cloud.log"))}", e);
                }
            }

            await Task.Delay(200);
        }
    }

    private async Task StartDaemonCoreAsync()
    {
        _daemon = Start(
            ["netns", "exec", Namespace, Path.Combine(Tools.LabBin, "vpc-cni-ipamd"), "run", "--cloud", "aws", "--socket", Socket,
             "--checkpoint", Path.Combine(Directory, "ipam.json"), "--no-host-network"],
            DaemonEnvironment(), "ipamd.log");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var health = await Tools.RunAsync(Path.Combine(Tools.LabBin, "vpc-cni-ipamd"), ["health", "--socket", Socket, "--timeout", "2s"]);
            if (health.ExitCode == 0)
            {
                return;
            }

            if (_daemon.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"daemon not serving: {health.Stderr}\n{await File.ReadAllTextAsync(Path.Combine(Directory, "log", "ipamd.log"))}");
            }

            await Task.Delay(300);
        }
    }

    private Process Start(IEnumerable<string> args, Dictionary<string, string> environment, string log)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }

        var process = Process.Start(start)!;
        var writer = new StreamWriter(Path.Combine(Directory, "log", log)) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
