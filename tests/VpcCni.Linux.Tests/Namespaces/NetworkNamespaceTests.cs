using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Sysctl;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Namespaces;

[Trait("Category", "Privileged")]
public sealed class NetworkNamespaceTests
{
    private static string Inode(string path) => new FileInfo(path).LinkTarget ?? "";

    [Fact]
    public void Open_MissingPath_ThrowsNotFound()
    {
        var act = () => NetworkNamespace.Open("/run/netns/vcl-does-not-exist");
        act.Should().Throw<NetworkNamespaceNotFoundException>().Which.Path.Should().Be("/run/netns/vcl-does-not-exist");
    }

    [Fact]
    public void Open_RegularFile_ThrowsNotANamespace()
    {
        var file = Path.GetTempFileName();
        try
        {
            var act = () => NetworkNamespace.Open(file);
            act.Should().Throw<NotANetworkNamespaceException>();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void PathOf_BadName_Throws()
    {
        var act = () => NetworkNamespace.PathOf("../etc");
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void IsCurrentThreadNamespace_OwnAndForeignNamespace_TrueOnlyForOwn()
    {
        Privileged.Require();
        using var ns = new TestNamespace("cur");
        using var own = NetworkNamespace.Open("/proc/self/ns/net");
        using var executor = new NetworkNamespaceExecutor();

        own.IsCurrentThreadNamespace().Should().BeTrue();
        ns.Handle.IsCurrentThreadNamespace().Should().BeFalse();
        executor.Invoke(ns.Handle, static h => h.IsCurrentThreadNamespace(), ns.Handle).Should().BeTrue("the executor thread is inside it");
    }

    [Fact]
    public void Executor_Invoke_RunsInsideTargetAndRestoresHome()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ex");
        using var executor = new NetworkNamespaceExecutor();
        var callerNs = Inode("/proc/thread-self/ns/net");
        var inside = executor.Invoke(ns.Handle, static _ => Inode("/proc/thread-self/ns/net"), 0);
        var target = executor.Invoke(ns.Handle, static p => new FileInfo(p).Exists, ns.Path);
        target.Should().BeTrue();
        inside.Should().NotBe(callerNs, "work must run inside the target namespace");
        using var home = NetworkNamespace.OpenCurrentThread();
        var after = executor.Invoke(home, static _ => Inode("/proc/thread-self/ns/net"), 0);
        after.Should().Be(callerNs);
        executor.WorkersStarted.Should().Be(1);
        Inode("/proc/thread-self/ns/net").Should().Be(callerNs, "the calling thread never switches");
    }

    [Fact]
    public void Executor_WorkThrows_ExceptionPropagatesAndWorkerSurvives()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ex");
        using var executor = new NetworkNamespaceExecutor();
        var act = () => executor.Invoke<int, int>(ns.Handle, static _ => throw new InvalidOperationException("boom"), 0);
        act.Should().Throw<InvalidOperationException>().WithMessage("boom");
        executor.Invoke(ns.Handle, static x => x + 1, 1).Should().Be(2);
        executor.WorkersStarted.Should().Be(1);
    }

    [Fact]
    public void CallingThread_Invoke_RunsOnCallerInsideTargetAndSwitchesBack()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ct");
        var callerNs = Inode("/proc/thread-self/ns/net");
        var callerThread = Environment.CurrentManagedThreadId;
        var (inside, thread) = NetworkNamespaceExecutor.CallingThread.Invoke(
            ns.Handle, static h => (h.IsCurrentThreadNamespace(), Environment.CurrentManagedThreadId), ns.Handle);
        inside.Should().BeTrue("work must run inside the target namespace");
        thread.Should().Be(callerThread, "no worker thread is involved");
        Inode("/proc/thread-self/ns/net").Should().Be(callerNs, "the calling thread is switched back");
        NetworkNamespaceExecutor.CallingThread.WorkersStarted.Should().Be(0);
    }

    [Fact]
    public void CallingThread_WorkThrows_ExceptionPropagatesAndThreadIsBackHome()
    {
        Privileged.Require();
        using var ns = new TestNamespace("ct");
        var callerNs = Inode("/proc/thread-self/ns/net");
        var act = () => NetworkNamespaceExecutor.CallingThread.Invoke<int, int>(ns.Handle, static _ => throw new InvalidOperationException("boom"), 0);
        act.Should().Throw<InvalidOperationException>().WithMessage("boom");
        Inode("/proc/thread-self/ns/net").Should().Be(callerNs);
    }

    [Fact]
    public void RtNetlinkClient_OpenedInNamespace_UsableFromOtherThreads()
    {
        Privileged.Require();
        using var ns = new TestNamespace("th");
        using var client = RtNetlinkClient.Open(ns.Handle);
        var names = Enumerable.Range(0, 4).AsParallel().Select(i =>
        {
            client.CreateLink(new VethCreateRequest($"p{i}", $"q{i}"));
            return client.GetLinks().Count;
        }).ToList();
        client.GetLinks().Should().HaveCount(9, "lo plus four veth pairs, all in the scratch namespace");
        ns.Exec("ip", "-o", "link").Should().Contain("p3@q3");
    }

    [Fact]
    public void Sysctl_WritePerNamespace_DoesNotLeakToOtherNamespace()
    {
        Privileged.Require();
        using var a = new TestNamespace("sy");
        using var b = new TestNamespace("sy");
        var sysctl = new NamespaceSysctl();
        sysctl.Write(a.Handle, "net/ipv4/ip_forward", "1");
        sysctl.Read(a.Handle, "net/ipv4/ip_forward").Should().Be("1");
        sysctl.Read(b.Handle, "net/ipv4/ip_forward").Should().Be("0");
        a.Exec("cat", "/proc/sys/net/ipv4/ip_forward").Trim().Should().Be("1");
        sysctl.Write(a.Handle, "net/ipv6/conf/nonexistent0/accept_ra", "0", ignoreMissing: true).Should().BeFalse();
        sysctl.Read(a.Handle, "net/ipv4/conf/nonexistent0/rp_filter").Should().BeNull();
        var bad = () => sysctl.Write(a.Handle, "kernel/hostname", "x");
        bad.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void CreateDelete_NamedNamespace_VisibleToIpAndGone()
    {
        Privileged.Require();
        var name = $"vcl{Environment.ProcessId}-cd";
        NetworkNamespace.Create(name);
        try
        {
            TestNamespace.Run("ip", "netns", "list").Should().Contain(name);
        }
        finally
        {
            NetworkNamespace.Delete(name);
        }

        File.Exists(NetworkNamespace.PathOf(name)).Should().BeFalse();
        NetworkNamespace.Delete(name); // idempotent
    }
}
