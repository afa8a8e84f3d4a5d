using VpcCni.Linux.Interop;

namespace VpcCni.Linux.Netlink;

/// <summary>A netlink request the kernel rejected, or a reply that could not be understood.</summary>
public class NetlinkException : IOException
{
    public NetlinkException(string operation, int errno, string? extendedAckMessage)
        : base(FormatMessage(operation, errno, extendedAckMessage))
    {
        Operation = operation;
        Errno = errno;
        ExtendedAckMessage = extendedAckMessage;
        HResult = errno;
    }

    /// <summary>What was being done, e.g. <c>RTM_NEWROUTE</c> plus the object.</summary>
    public string Operation { get; }

    /// <summary>The positive errno the kernel returned (0 for protocol errors).</summary>
    public int Errno { get; }

    /// <summary>Symbolic name such as <c>EEXIST</c>.</summary>
    public string ErrnoName => Libc.ErrorName(Errno);

    /// <summary>The kernel's extended ack text (NLMSGERR_ATTR_MSG), when it sent one.</summary>
    public string? ExtendedAckMessage { get; }

    /// <summary>ENOENT, ENODEV, ESRCH or EADDRNOTAVAIL: the object is not there.</summary>
    public bool IsNotFound => Errno is 2 or 19 or 3 or 99;

    /// <summary>EEXIST.</summary>
    public bool IsAlreadyExists => Errno == 17;

    private static string FormatMessage(string operation, int errno, string? ack)
    {
        var text = errno == 0
            ? $"{operation}: malformed netlink reply"
            : $"{operation} failed: {Libc.ErrorName(errno)} ({Libc.ErrorDescription(errno)})";
        return ack is null ? text : $"{text}: {ack}";
    }
}

/// <summary>The kernel flagged a dump as inconsistent (NLM_F_DUMP_INTR); the dump should be retried.</summary>
internal sealed class NetlinkDumpInterruptedException : NetlinkException
{
    public NetlinkDumpInterruptedException(string operation)
        : base(operation, 4, "dump interrupted by a concurrent change")
    {
    }
}
