using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>
/// The node image of deploy/build-image.sh, run with podman the way the aws-node DaemonSet runs it: its executables
/// start on the image's own root filesystem, init installs the plugin, portmap and the conflist into a host directory,
/// the netfilter tools work, and the daemon serves health inside a node namespace against the loopback cloud emulator.
/// Containers have no network but "none" or a namespace this test made; the root namespace is never touched.
/// </summary>
public sealed class ImageTests(NodeImage image) : IClassFixture<NodeImage>
{
    private const int CloudPort = 18080;

    [Fact]
    public async Task Image_DaemonExecutable_RunsOnTheImagesRootFilesystem()
    {
        var (exit, stdout, stderr) = await image.RunAsync([], ["max-pods", "--instance-type", "m5.large"]);
        exit.Should().Be(0, stderr);
        stdout.Trim().Should().Be("29");

        var help = await image.RunAsync([], ["--help"]);
        help.ExitCode.Should().Be(0, help.Stderr);
        help.Stdout.Should().Contain("usage: vpc-cni-ipamd");
    }

    [Fact]
    public async Task Image_Init_InstallsPluginPortmapAndConflistIntoTheHostDirectories()
    {
        var host = Directory.CreateTempSubdirectory("vci-image-host-").FullName;
        try
        {
            // The manifest's init container, plus the conflist directory; sysctls are the node's, not this test's.
            var (exit, stdout, stderr) = await image.RunAsync(
                ["--volume", $"{host}:/host"],
                ["init", "--plugin-source", "/app/vpc-cni", "--cni-bin-dir", "/host/opt/cni/bin", "--cni-conf-dir", "/host/etc/cni/net.d", "--skip-sysctls"]);
            exit.Should().Be(0, stderr);
            stdout.Should().Contain("installed /host/opt/cni/bin/portmap");

            var bin = Path.Combine(host, "opt", "cni", "bin");
            // egress-cni as upstream's entrypoint installs it (the conflist always chains it, disabled here) and host-local,
            // the IPAM its entry names, as upstream's init copies it.
            Directory.GetFiles(bin).Select(Path.GetFileName).Should().BeEquivalentTo("vpc-cni", "egress-cni", "host-local", "portmap");
            var conflist = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(host, "etc", "cni", "net.d", "10-aws.conflist")))!;
            conflist["plugins"]!.AsArray().Select(p => p!["type"]!.GetValue<string>()).Should().Equal("vpc-cni", "egress-cni", "portmap");
            conflist["plugins"]![1]!["enabled"]!.GetValue<string>().Should().Be("false");

            // What the runtime will run on the host: every executable the conflist names answers the CNI VERSION command there.
            foreach (var plugin in new[] { "vpc-cni", "egress-cni", "portmap" })
            {
                // As a runtime calls it: the network configuration on stdin, which is then closed (a plugin reads it to the end).
                var version = await Tools.RunAsync("bash", ["-c", $"printf '%s' '{{\"cniVersion\":\"1.0.0\"}}' | '{Path.Combine(bin, plugin)}'"],
                    new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" });
                version.ExitCode.Should().Be(0, $"{plugin}: {version.Stderr}");
                JsonNode.Parse(version.Stdout)!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Contain("0.4.0");
            }
        }
        finally
        {
            // Files init wrote as root inside the container; the directory is ours.
            Directory.Delete(host, recursive: true);
        }
    }

    [Fact]
    public async Task Image_PortmapAndNetfilterTools_RunInTheContainersOwnNamespace()
    {
        var portmap = await image.RunAsync(["--entrypoint", "/usr/lib/cni/portmap", "--env", "CNI_COMMAND=VERSION"], []);
        portmap.ExitCode.Should().Be(0, portmap.Stderr);
        JsonNode.Parse(portmap.Stdout)!["supportedVersions"]!.AsArray().Should().NotBeEmpty();

        // Rules go into the container's own network namespace (--network none), as the daemon's SNAT rules would.
        const string script = """
            set -e
            printf '*nat\n:VPCCNI-IMAGE - [0:0]\n-A POSTROUTING -o eth9 -j VPCCNI-IMAGE\nCOMMIT\n' | iptables-restore --noflush
            iptables -t nat -S POSTROUTING
            nft add table ip vpccni_image
            nft list tables
            """;
        var (exit, stdout, stderr) = await image.RunAsync(["--cap-add", "NET_ADMIN,NET_RAW", "--entrypoint", "/bin/sh"], ["-c", script]);
        exit.Should().Be(0, stderr);
        stdout.Should().Contain("-A POSTROUTING -o eth9 -j VPCCNI-IMAGE").And.Contain("table ip vpccni_image");
    }

    [Fact]
    public async Task Image_Daemon_ServesHealthInANodeNamespaceAgainstTheCloudEmulator()
    {
        var tag = $"vci{Environment.ProcessId}";
        var ns = $"{tag}-node";
        var container = $"{tag}-ipamd";
        var run = Directory.CreateTempSubdirectory(tag + "-").FullName;
        Process? cloud = null;
        try
        {
            await MustAsync("ip", "netns", "add", ns);
            await MustAsync("ip", "-n", ns, "link", "set", "lo", "up");
            cloud = StartCloud(ns, Path.Combine(run, "cloud.log"));
            await WaitForCloudAsync(ns, cloud, Path.Combine(run, "cloud.log"));

            // The manifest's aws-node container: the image's entrypoint with "run", NET_ADMIN/NET_RAW, the socket
            // directory mounted; the node namespace is this test's and the cloud is the emulator on its loopback.
            string[] environment =
            [
                "AWS_ACCESS_KEY_ID=e2e", "AWS_SECRET_ACCESS_KEY=e2e-secret", "AWS_REGION=us-west-2",
                $"AWS_ENDPOINT_URL_EC2=http://127.0.0.1:{CloudPort}/", $"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:{CloudPort}/",
                "AWS_EC2_METADATA_DISABLED=true", "AWS_VPC_K8S_CNI_LOG_FILE=stdout", "AWS_VPC_K8S_CNI_LOGLEVEL=info",
                "AWS_VPC_K8S_PLUGIN_LOG_FILE=/var/run/aws-node/plugin.log",
            ];
            var started = await Tools.RunAsync("podman",
            [
                "run", "--detach", .. NodeImage.RunOptions, "--name", container, "--network", $"ns:/run/netns/{ns}",
                "--cap-add", "NET_ADMIN,NET_RAW", "--volume", $"{run}:/var/run/aws-node",
                .. environment.SelectMany(e => new[] { "--env", e }),
                image.Reference,
                "run", "--cloud", "aws", "--socket", "/var/run/aws-node/ipamd.sock", "--checkpoint", "/var/run/aws-node/ipam.json", "--no-host-network",
            ]);
            started.ExitCode.Should().Be(0, started.Stderr);

            // The manifest's readiness probe, run in the container as the kubelet would.
            var deadline = DateTime.UtcNow.AddSeconds(90);
            (int ExitCode, string Stdout, string Stderr) health;
            while (true)
            {
                health = await Tools.RunAsync("podman", ["exec", container, "/app/vpc-cni-ipamd", "health", "--socket", "/var/run/aws-node/ipamd.sock", "--timeout", "2s"]);
                if (health.ExitCode == 0 || DateTime.UtcNow > deadline || !await IsRunningAsync(container))
                {
                    break;
                }

                await Task.Delay(500, TestContext.Current.CancellationToken);
            }

            health.ExitCode.Should().Be(0, $"{health.Stderr}\ndaemon log:\n{(await Tools.RunAsync("podman", ["logs", container])).Stdout}");
            health.Stdout.Trim().Should().Be("Serving");
        }
        finally
        {
            await Tools.RunAsync("podman", ["rm", "--force", "--time", "5", container]);
            if (cloud is { HasExited: false })
            {
                cloud.Kill(entireProcessTree: true);
                await cloud.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }

            cloud?.Dispose();
            await Tools.RunAsync("ip", ["netns", "del", ns]);
            Directory.Delete(run, recursive: true);
        }
    }

    private static async Task<bool> IsRunningAsync(string container) =>
        (await Tools.RunAsync("podman", ["inspect", "--format", "{{.State.Running}}", container])).Stdout.Trim() == "true";

    private static async Task MustAsync(string file, params string[] args)
    {
        var (exit, _, stderr) = await Tools.RunAsync(file, args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {stderr}");
        }
    }

    private static Process StartCloud(string ns, string log)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "netns", "exec", ns, "dotnet", Tools.Cloud, "--listen", $"127.0.0.1:{CloudPort}", "--instance-type", "m5.large" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    // The emulator is a JIT-started process: the daemon starts only once it answers (see TestNode), asked from inside
    // the node namespace by a socket made there.
    private static async Task WaitForCloudAsync(string ns, Process cloud, string log)
    {
        using var handle = VpcCni.Linux.Namespaces.NetworkNamespace.OpenByName(ns);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var socket = VpcCni.Linux.Namespaces.NetworkNamespaceExecutor.Shared.Invoke(handle, static _ =>
                    new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp), 0);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, CloudPort);
                return;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                if (cloud.HasExited || DateTime.UtcNow > deadline)
                {
                    var output = await File.ReadAllTextAsync(log);
                    throw new InvalidOperationException(
                        string.Create(CultureInfo.InvariantCulture, $"cloud emulator not listening on {CloudPort}: {e.Message}\n{output}"), e);
                }
            }

            await Task.Delay(200);
        }
    }
}
