using System.Diagnostics;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;

namespace VpcCni.Linux.Tests.Support;

/// <summary>
/// A scratch network namespace named vcl&lt;pid&gt;-&lt;tag&gt;&lt;n&gt; with a netlink client; deleted on dispose.
/// Privileged tests do all their work inside such namespaces and never touch the root namespace.
/// </summary>
internal sealed class TestNamespace : IDisposable
{
    private static int s_counter;

    public TestNamespace(string tag)
    {
        Name = $"vcl{Environment.ProcessId}-{tag}{Interlocked.Increment(ref s_counter)}";
        if (Name.Length > 40)
        {
            throw new ArgumentException("tag too long", nameof(tag));
        }

        NetworkNamespace.Create(Name);
        try
        {
            Handle = NetworkNamespace.OpenByName(Name);
            Client = RtNetlinkClient.Open(Handle);
            Client.SetLinkUp(Client.FindLinkByName("lo")!.Index);
        }
        catch
        {
            NetworkNamespace.Delete(Name);
            throw;
        }
    }

    public string Name { get; }

    public NetworkNamespace Handle { get; }

    public RtNetlinkClient Client { get; }

    public string Path => Handle.Path;

    /// <summary>Runs a command inside this namespace via `ip netns exec` (tests only: inspection and cross-checks).</summary>
    public string Exec(string fileName, params string[] args) => Run("ip", ["netns", "exec", Name, fileName, .. args]);

    public static string Run(string fileName, params string[] args)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} timed out");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    public void Dispose()
    {
        Client.Dispose();
        Handle.Dispose();
        NetworkNamespace.Delete(Name);
    }
}

internal static class Privileged
{
    public static void Require() =>
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
}

internal static class KernelSupport
{
    /// <summary>Creates the link, or skips the test (visibly) when the kernel lacks the driver (EOPNOTSUPP).</summary>
    public static void CreateOrSkip(VpcCni.Linux.Netlink.RtNetlinkClient client, VpcCni.Linux.Netlink.LinkCreateRequest request)
    {
        try
        {
            client.CreateLink(request);
        }
        catch (VpcCni.Linux.Netlink.NetlinkException ex) when (ex.Errno == 95)
        {
            Assert.Skip($"kernel has no driver for {request.GetType().Name}: {ex.Message}");
        }
    }
}
