namespace VpcCni.Tests;

/// <summary>Finds the tools that real-runtime tests drive: our libcni driver and the Native AOT gate binary.</summary>
internal static class TestTools
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// The libcni driver that tools/cnidriver/build.sh builds into artifacts/tools/cnidriver (scripts/test.sh builds it
    /// first); VPCCNI_CNIDRIVER names another one.
    /// </summary>
    public static string CniDriver
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("VPCCNI_CNIDRIVER");
            var path = string.IsNullOrEmpty(overridden) ? Path.Combine(RepoRoot, "artifacts", "tools", "cnidriver") : overridden;
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"cnidriver not found at {path}; build it with tools/cnidriver/build.sh (scripts/test.sh does)");
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
