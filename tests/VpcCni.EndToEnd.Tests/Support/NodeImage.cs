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
    /// hierarchy also has controllers (this sandbox's); and resource limits the host allows, since podman's defaults
    /// (1048576 open files, 32768 processes) cannot be raised to without CAP_SYS_RESOURCE, which this sandbox's root lacks.
    /// </summary>
    public static IReadOnlyList<string> RunOptions { get; } =
        ["--pull=never", "--runtime", "runc", "--ulimit", $"nofile={HardLimit("Max open files", 1_048_576)}", "--ulimit", $"nproc={HardLimit("Max processes", 32_768)}"];

    /// <summary>
    /// podman run --rm of the image, never on the machine's network: <paramref name="network"/> is "none" or
    /// "ns:/run/netns/NAME" of a namespace the test made.
    /// </summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> podmanOptions, IEnumerable<string> command, string network = "none") =>
        Tools.RunAsync("podman", ["run", "--rm", .. RunOptions, "--network", network, .. podmanOptions, Reference, .. command]);

    // "Max open files  SOFT  HARD  files" in /proc/self/limits: the container gets this process's hard limit, at most podman's default.
    private static string HardLimit(string name, long podmanDefault)
    {
        var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith(name, StringComparison.Ordinal));
        var hard = line[name.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var limit = hard == "unlimited" ? podmanDefault : Math.Min(podmanDefault, long.Parse(hard, System.Globalization.CultureInfo.InvariantCulture));
        return $"{limit}:{limit}";
    }
}
