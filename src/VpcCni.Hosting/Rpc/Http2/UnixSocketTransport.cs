using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// <see cref="IHttp2Transport"/> over a Unix stream socket made with libc calls. Why not <see cref="Socket"/>: the first
/// <c>new Socket</c> of a process starts .NET's socket engine (an epoll instance and a thread) even for blocking use,
/// which a CNI plugin that lives for one call pays on every ADD and DEL (docs/benchmarks.md). The timeouts are the
/// kernel's (SO_RCVTIMEO/SO_SNDTIMEO; connect(2) on a Unix socket waits for backlog room up to SO_SNDTIMEO).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class UnixSocketTransport : IHttp2Transport
{
    private const int AfUnix = 1;
    private const int SockStream = 1;
    private const int SockCloexec = 0x80000;
    private const int SolSocket = 1;
    private const int SoRcvTimeo = 20;
    private const int SoSndTimeo = 21;
    private const int MsgNoSignal = 0x4000;
    private const int ShutRdWr = 2;
    private const int SunPathLength = 108;

    private readonly SafeSocketDescriptor _fd;
    private int _timeout;

    private UnixSocketTransport(SafeSocketDescriptor fd) => _fd = fd;

    /// <summary>Connects to the socket at <paramref name="path"/>, waiting at most <paramref name="timeout"/> for backlog room.</summary>
    /// <exception cref="SocketException">Nothing listens there, or access is denied.</exception>
    /// <exception cref="TimeoutException">The listener's backlog stayed full for <paramref name="timeout"/>.</exception>
    public static UnixSocketTransport Connect(string path, TimeSpan? timeout)
    {
        ArgumentNullException.ThrowIfNull(path);
        var address = new SockAddrUn { Family = AfUnix };
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length == 0 || bytes.Length >= SunPathLength)
        {
            throw new ArgumentException($"a Unix socket path must be 1 to {SunPathLength - 1} bytes: {path}", nameof(path));
        }

        var fd = new SafeSocketDescriptor(Socket(AfUnix, SockStream | SockCloexec, 0));
        if (fd.IsInvalid)
        {
            throw Error(Marshal.GetLastPInvokeError());
        }

        var transport = new UnixSocketTransport(fd);
        try
        {
            var milliseconds = timeout is { } limit ? (int)Math.Clamp(Math.Ceiling(limit.TotalMilliseconds), 1, int.MaxValue) : 0;
            transport.TimeoutMilliseconds = milliseconds;
            unsafe
            {
                bytes.CopyTo(new Span<byte>(address.Path, SunPathLength));
                var length = sizeof(ushort) + bytes.Length + 1;
                int result;
                while ((result = ConnectSocket(transport.Descriptor, &address, length)) < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                }

                if (result < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EAGAIN && milliseconds > 0)
                    {
                        throw new TimeoutException($"connect did not complete within {milliseconds / 1000.0:0.###} s");
                    }

                    throw Error(errno);
                }
            }

            return transport;
        }
        catch
        {
            transport.Dispose();
            throw;
        }
    }

    public int TimeoutMilliseconds
    {
        get => _timeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            var time = new TimeVal { Seconds = value / 1000, Microseconds = value % 1000 * 1000 };
            unsafe
            {
                if (SetSockOpt(Descriptor, SolSocket, SoRcvTimeo, &time, sizeof(TimeVal)) < 0
                    || SetSockOpt(Descriptor, SolSocket, SoSndTimeo, &time, sizeof(TimeVal)) < 0)
                {
                    throw Error(Marshal.GetLastPInvokeError());
                }
            }

            _timeout = value;
        }
    }

    public unsafe int Send(ReadOnlySpan<byte> data)
    {
        fixed (byte* pointer = data)
        {
            while (true)
            {
                var sent = SendBytes(Descriptor, pointer, data.Length, MsgNoSignal);
                if (sent >= 0)
                {
                    return (int)sent;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    throw Error(errno);
                }
            }
        }
    }

    public unsafe int Receive(Span<byte> buffer)
    {
        fixed (byte* pointer = buffer)
        {
            while (true)
            {
                var received = ReceiveBytes(Descriptor, pointer, buffer.Length, 0);
                if (received >= 0)
                {
                    return (int)received;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    throw Error(errno);
                }
            }
        }
    }

    public void Abort()
    {
        var added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            _ = Shutdown((int)_fd.DangerousGetHandle(), ShutRdWr);
        }
        catch (ObjectDisposedException)
        {
            // Closed already: nothing is blocked on it.
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }
        }
    }

    public void Dispose() => _fd.Dispose();

    private int Descriptor
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
            return (int)_fd.DangerousGetHandle();
        }
    }

    /// <summary>The socket class's error for an errno, so callers handle both transports alike.</summary>
    internal static SocketException Error(int errno) => new((int)ToSocketError(errno), Marshal.GetPInvokeErrorMessage(errno));

    private static SocketError ToSocketError(int errno) => errno switch
    {
        Errno.EAGAIN => SocketError.TimedOut, // a blocking socket's SO_RCVTIMEO/SO_SNDTIMEO passed
        Errno.ENOENT => SocketError.AddressNotAvailable,
        Errno.ECONNREFUSED => SocketError.ConnectionRefused,
        Errno.EACCES or Errno.EPERM => SocketError.AccessDenied,
        Errno.ECONNRESET => SocketError.ConnectionReset,
        Errno.EPIPE => SocketError.Shutdown,
        Errno.ENOTCONN => SocketError.NotConnected,
        Errno.ENOTSOCK => SocketError.NotSocket,
        Errno.EMFILE or Errno.ENFILE => SocketError.TooManyOpenSockets,
        Errno.ENOBUFS or Errno.ENOMEM => SocketError.NoBufferSpaceAvailable,
        Errno.EINVAL => SocketError.InvalidArgument,
        _ => SocketError.SocketError,
    };

    private static class Errno
    {
        public const int EPERM = 1;
        public const int ENOENT = 2;
        public const int EINTR = 4;
        public const int EAGAIN = 11;
        public const int ENOMEM = 12;
        public const int EACCES = 13;
        public const int EINVAL = 22;
        public const int ENFILE = 23;
        public const int EMFILE = 24;
        public const int EPIPE = 32;
        public const int ENOTSOCK = 88;
        public const int ENOBUFS = 105;
        public const int ECONNRESET = 104;
        public const int ENOTCONN = 107;
        public const int ECONNREFUSED = 111;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockAddrUn
    {
        public ushort Family;
        public fixed byte Path[SunPathLength];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    private sealed class SafeSocketDescriptor : SafeHandleMinusOneIsInvalid
    {
        public SafeSocketDescriptor(int fd)
            : base(ownsHandle: true) => SetHandle(fd);

        protected override bool ReleaseHandle() => CloseDescriptor((int)handle) == 0;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static unsafe partial int ConnectSocket(int fd, SockAddrUn* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendBytes(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint ReceiveBytes(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseDescriptor(int fd);
}
