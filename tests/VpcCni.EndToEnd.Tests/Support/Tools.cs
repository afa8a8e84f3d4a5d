using System.Diagnostics;

namespace VpcCni.EndToEnd.Tests.Support;

/// <summary>Locates what scripts/test.sh published and runs processes with captured output.</summary>
internal static class Tools
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string LabBin => Require(Path.Combine(RepoRoot, "artifacts", "lab-bin"), "vpc-cni", "vpc-cni-ipamd");

    public static string Cloud => RequireFile(Path.Combine(RepoRoot, "artifacts", "cloud", "vpc-cni-cloud.dll"));

    public static string Lab => RequireFile(Path.Combine(RepoRoot, "artifacts", "lab", "vpc-cni-lab.dll"));

    /// <summary>Our libcni driver (tools/cnidriver, built by scripts/test.sh); VPCCNI_CNIDRIVER names another one.</summary>
    public static string CniDriver => RequireFile(
        Environment.GetEnvironmentVariable("VPCCNI_CNIDRIVER") is { Length: > 0 } overridden ? overridden : Path.Combine(RepoRoot, "artifacts", "tools", "cnidriver"));

    /// <summary>samples/MinimalCniPlugin as scripts/test.sh built it from the packages of scripts/pack.sh (artifacts/feed).</summary>
    public static string MinimalCniPlugin => Require(Path.Combine(RepoRoot, "artifacts", "sample-minimal-cni"), "minimal-ptp", "minimal-ptp.deps.json");

    /// <summary>samples/IpamEmbedder as scripts/test.sh built it from the packages of scripts/pack.sh (artifacts/feed).</summary>
    public static string IpamEmbedder => Require(Path.Combine(RepoRoot, "artifacts", "sample-ipam-embedder"), "ipam-embedder", "ipam-embedder.deps.json");

    /// <summary>The package version scripts/pack.sh stamped on this run's packages.</summary>
    public static string FeedVersion => File.ReadAllText(RequireFile(Path.Combine(RepoRoot, "artifacts", "feed", "VERSION"))).Trim();

    public static string SmokeScript => RequireFile(Path.Combine(RepoRoot, "tools", "cnidriver", "smoke.sh"));

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time; stdout so far: {await stdout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Require(string directory, params string[] files)
    {
        foreach (var f in files)
        {
            RequireFile(Path.Combine(directory, f));
        }

        return directory;
    }

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} not found: run scripts/test.sh, which publishes it before the tests");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("VpcCni.sln not found");
    }
}
