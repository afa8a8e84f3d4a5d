using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VpcCni.Linux.Interop;

namespace VpcCni.Linux.Namespaces;

/// <summary>The namespace path does not exist (CNI DEL treats this as success).</summary>
public sealed class NetworkNamespaceNotFoundException : IOException
{
    public NetworkNamespaceNotFoundException(string path)
        : base($"Network namespace '{path}' does not exist.") => Path = path;

    public string Path { get; }
}

/// <summary>The path exists but is not a network namespace.</summary>
public sealed class NotANetworkNamespaceException : IOException
{
    public NotANetworkNamespaceException(string path)
        : base($"'{path}' is not a network namespace (not on nsfs or procfs).") => Path = path;

    public string Path { get; }
}

/// <summary>An open handle on a network namespace (a file descriptor on nsfs).</summary>
public sealed class NetworkNamespace : IDisposable
{
    /// <summary>Where named namespaces live (what <c>ip netns</c> uses).</summary>
    public const string NamedNamespaceDirectory = "/run/netns";

    private readonly SafeFileHandle _handle;

    private NetworkNamespace(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The path this handle was opened from.</summary>
    public string Path { get; }

    /// <summary>Opens a namespace by path, validating it is one.</summary>
    public static unsafe NetworkNamespace Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ENOENT)
            {
                throw new NetworkNamespaceNotFoundException(path);
            }

            throw new IOException($"Cannot open network namespace '{path}': {Libc.ErrorName(errno)} ({Libc.ErrorDescription(errno)}).");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        Span<byte> statfs = stackalloc byte[256];
        long magic;
        fixed (byte* pointer = statfs)
        {
            if (Libc.FStatFs(fd, pointer) != 0)
            {
                handle.Dispose();
                throw new NotANetworkNamespaceException(path);
            }

            magic = MemoryMarshal.Read<long>(statfs);
        }

        if (magic != Libc.NSFS_MAGIC && magic != Libc.PROC_SUPER_MAGIC)
        {
            handle.Dispose();
            throw new NotANetworkNamespaceException(path);
        }

        return new NetworkNamespace(handle, path);
    }

    /// <summary>Opens a named namespace (<c>/run/netns/NAME</c>).</summary>
    public static NetworkNamespace OpenByName(string name) => Open(PathOf(name));

    /// <summary>The namespace of the calling thread (not the process leader's).</summary>
    public static NetworkNamespace OpenCurrentThread() => Open("/proc/thread-self/ns/net");

    /// <summary>The path of a named namespace.</summary>
    public static string PathOf(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name is "." or "..")
        {
            throw new ArgumentException($"Invalid network namespace name '{name}'.", nameof(name));
        }

        return System.IO.Path.Combine(NamedNamespaceDirectory, name);
    }

    /// <summary>Switches the calling thread into this namespace. Callers must own the thread (see <see cref="NetworkNamespaceExecutor"/>).</summary>
    internal void EnterOnCurrentThread()
    {
        if (Libc.SetNs(DangerousGetFd(), Libc.CLONE_NEWNET) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"setns({Path}) failed: {Libc.ErrorName(errno)} ({Libc.ErrorDescription(errno)}).");
        }
    }

    internal int DangerousGetFd()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        return (int)_handle.DangerousGetHandle();
    }

    /// <summary>Creates a persistent named namespace (like <c>ip netns add</c>), without entering it on any pool thread.</summary>
    public static void Create(string name)
    {
        var path = PathOf(name);
        Directory.CreateDirectory(NamedNamespaceDirectory);
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot create '{path}': {Libc.ErrorName(errno)} ({Libc.ErrorDescription(errno)}).");
        }

        Libc.Close(fd);
        Exception? failure = null;
        // unshare() changes the calling thread for good, so it runs on a throw-away thread that then exits.
        var thread = new Thread(() =>
        {
            try
            {
                if (Libc.Unshare(Libc.CLONE_NEWNET) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new IOException($"unshare(CLONE_NEWNET) failed: {Libc.ErrorName(errno)}.");
                }

                if (Libc.Mount("/proc/thread-self/ns/net", path, null, Libc.MS_BIND, 0) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new IOException($"Bind-mounting the new namespace on '{path}' failed: {Libc.ErrorName(errno)}.");
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        {
            IsBackground = true,
            Name = "vpccni-netns-create",
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            File.Delete(path);
            throw failure;
        }
    }

    /// <summary>Deletes a named namespace; a missing one is not an error.</summary>
    public static void Delete(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            return;
        }

        if (Libc.Umount2(path, Libc.MNT_DETACH) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != 22)
            {
                // EINVAL: not a mount point any more; the file can still be removed.
                throw new IOException($"umount({path}) failed: {Libc.ErrorName(errno)}.");
            }
        }

        File.Delete(path);
    }

    /// <summary>
    /// True when the calling thread is inside this namespace already, so namespace-relative work (such as
    /// /proc/sys/net) can run on it without a switch to the executor thread.
    /// </summary>
    public bool IsCurrentThreadNamespace() =>
        TryGetIdentity(out var own) && CurrentThreadIdentity() is { } current && own == current;

    /// <summary>This namespace's identity: equal for every handle to the same namespace, from any process.</summary>
    public NetworkNamespaceIdentity Identity =>
        TryGetIdentity(out var identity) ? identity : throw new IOException($"fstat({Path}) failed: {Libc.ErrorName(Marshal.GetLastPInvokeError())}.");

    /// <summary>The identity of the namespace the calling thread is in, or null if /proc cannot tell.</summary>
    public static unsafe NetworkNamespaceIdentity? CurrentThreadIdentity()
    {
        Span<byte> stat = stackalloc byte[256];
        fixed (byte* pointer = stat)
        {
            return Libc.Stat("/proc/thread-self/ns/net", pointer) == 0 ? IdentityOf(stat) : null;
        }
    }

    private unsafe bool TryGetIdentity(out NetworkNamespaceIdentity identity)
    {
        Span<byte> stat = stackalloc byte[256];
        fixed (byte* pointer = stat)
        {
            var ok = Libc.FStat(DangerousGetFd(), pointer) == 0;
            identity = ok ? IdentityOf(stat) : default;
            return ok;
        }
    }

    // A namespace is identified by the device and inode of its nsfs file: st_dev and st_ino lead struct stat on
    // the 64-bit Linux ABIs (x64, arm64); elsewhere a mismatch only means "not the same", which callers treat safely.
    private static NetworkNamespaceIdentity IdentityOf(ReadOnlySpan<byte> stat) =>
        new(MemoryMarshal.Read<ulong>(stat), MemoryMarshal.Read<ulong>(stat[8..]));

    public void Dispose() => _handle.Dispose();

    public override string ToString() => Path;
}

/// <summary>Identifies a network namespace: the device and inode of its nsfs file (what <c>ls -i /proc/PID/ns/net</c> shows).</summary>
public readonly record struct NetworkNamespaceIdentity(ulong Device, ulong Inode);
