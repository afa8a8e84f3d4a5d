namespace VpcCni.EndToEnd.Tests.Support;

/// <summary>
/// The node image of deploy/build-image.sh in the local containers storage: the one scripts/test.sh built (its
/// reference in VPCCNI_IMAGE, kept afterwards), or else one this fixture builds from artifacts/lab-bin under a
/// reference of its own and removes on dispose.
/// </summary>
public sealed class NodeImage : IAsyncLifetime
{
    private bool _ownImage;

    public string Reference { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("VPCCNI_IMAGE") is { Length: > 0 } built)
        {
            Reference = built;
            return;
        }

        var reference = $"localhost/vpc-cni-e2e:{Environment.ProcessId}";
        var (exit, stdout, stderr) = await Tools.RunAsync(
            "bash", [Path.Combine(Tools.RepoRoot, "deploy", "build-image.sh")],
            new Dictionary<string, string> { ["VPC_CNI_BIN_DIR"] = Tools.LabBin, ["VPC_CNI_IMAGE"] = reference },
            timeout: TimeSpan.FromMinutes(20));
        if (exit != 0)
        {
            throw new InvalidOperationException($"deploy/build-image.sh exited {exit}: {stderr}");
        }

        _ownImage = true;
        Reference = stdout.TrimEnd().Split('\n')[^1];
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownImage)
        {
            await Tools.RunAsync("podman", ["rmi", "--force", Reference]);
        }
    }

    /// <summary>
    /// What every podman run of these tests passes: never pull; runc, since crun refuses a cgroup v1 host whose cgroup2
    /// hierarchy also has controllers (this sandbox's); and an open-files limit the host allows, since podman's default
    /// (1048576) cannot be set without CAP_SYS_RESOURCE.
    /// </summary>
    public static IReadOnlyList<string> RunOptions { get; } = ["--pull=never", "--runtime", "runc", "--ulimit", $"nofile={OpenFilesLimit()}"];

    /// <summary>
    /// podman run --rm of the image, never on the machine's network: <paramref name="network"/> is "none" or
    /// "ns:/run/netns/NAME" of a namespace the test made.
    /// </summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> podmanOptions, IEnumerable<string> command, string network = "none") =>
        Tools.RunAsync("podman", ["run", "--rm", .. RunOptions, "--network", network, .. podmanOptions, Reference, .. command]);

    // "Max open files  SOFT  HARD  files" in /proc/self/limits: the container gets this process's hard limit.
    private static string OpenFilesLimit()
    {
        var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var hard = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        return hard == "unlimited" ? "1048576:1048576" : $"{hard}:{hard}";
    }
}
