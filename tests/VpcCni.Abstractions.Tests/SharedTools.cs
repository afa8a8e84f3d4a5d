namespace VpcCni.Tests;

/// <summary>Finds the shared tools (../shared beside the repository) that real-runtime tests drive.</summary>
internal static class SharedTools
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>The libcni driver built by shared/tools/cnidriver/build.sh (scripts/test.sh builds it first).</summary>
    public static string CniDriver
    {
        get
        {
            string[] candidates =
            [
                Environment.GetEnvironmentVariable("VPCCNI_CNIDRIVER") ?? "",
                Path.Combine(SharedDir, "tools", "bin", "cnidriver"),
                Path.Combine(Path.GetTempPath(), "vpccni-cnitools", "bin", "cnidriver"),
            ];
            return candidates.FirstOrDefault(c => c.Length > 0 && File.Exists(c))
                ?? throw new InvalidOperationException(
                    $"cnidriver not found (looked in {string.Join(", ", candidates.Where(c => c.Length > 0))}); run {SharedDir}/tools/cnidriver/build.sh");
        }
    }

    /// <summary>The Native AOT gate binary, published by scripts/test.sh before the tests run.</summary>
    public static string AotSmokeBinary
    {
        get
        {
            var path = Path.Combine(RepoRoot, "artifacts", "aot-smoke", "VpcCni.AotSmoke");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"{path} not found; publish it first: dotnet publish tests/VpcCni.AotSmoke -c Release -o artifacts/aot-smoke");
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("VpcCni.sln not found above " + AppContext.BaseDirectory);
    }
}
