using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VpcCni.Linux.Interop;

namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>Called for each data message of a reply; the spans are valid only during the call.</summary>
internal delegate void NetlinkMessageHandler<TState>(ref TState state, in NetlinkMessage message);

/// <summary>
/// A blocking NETLINK_ROUTE socket. Requests are serialised under a lock (the kernel answers in order);
/// one pooled receive buffer per socket. The socket stays in the namespace it was created in, so it can
/// be used from any thread afterwards.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private const int ReceiveBufferSize = 64 * 1024;
    private readonly Lock _lock = new();
    private byte[]? _receiveBuffer;
    private int _fd;
    private uint _sequence;

    private NetlinkSocket(int fd, uint portId)
    {
        _fd = fd;
        PortId = portId;
        // Not from ArrayPool.Shared: a socket lives long in the daemon, and in the plugin the pool's first per-core use runs
        // the runtime's processor-id speed check and a zeroed 64 KB array; the kernel overwrites what a receive reads.
        _receiveBuffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize);
        _sequence = (uint)Environment.TickCount;
    }

    public uint PortId { get; }

    /// <summary>Opens a socket in the calling thread's network namespace.</summary>
    public static NetlinkSocket Open() => Open(groups: 0, receiveTimeout: TimeSpan.FromSeconds(10));

    /// <summary>
    /// Opens a socket in the calling thread's network namespace that also receives the notifications of the given
    /// rtnetlink multicast groups (RTMGRP_* bits); read them with <see cref="ReceiveNotifications{TState}"/>.
    /// </summary>
    public static NetlinkSocket Open(uint groups, TimeSpan receiveTimeout)
    {
        var fd = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw new NetlinkException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError(), null);
        }

        try
        {
            var one = 1;
            // Extended ack gives the kernel's reason text; capped acks keep error replies small.
            SetOption(fd, Libc.SOL_NETLINK, Libc.NETLINK_EXT_ACK, one);
            SetOption(fd, Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, one);
            SetOption(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 1024 * 1024);
            var timeout = new Libc.TimeVal { Seconds = receiveTimeout.Ticks / TimeSpan.TicksPerSecond, Microseconds = receiveTimeout.Ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMicrosecond };
            if (Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &timeout, sizeof(Libc.TimeVal)) != 0)
            {
                throw new NetlinkException("setsockopt(SO_RCVTIMEO)", Marshal.GetLastPInvokeError(), null);
            }

            var address = new Libc.SockAddrNetlink { Family = Libc.AF_NETLINK, Groups = groups };
            if (Libc.Bind(fd, &address, sizeof(Libc.SockAddrNetlink)) != 0)
            {
                throw new NetlinkException("bind(AF_NETLINK)", Marshal.GetLastPInvokeError(), null);
            }

            var length = sizeof(Libc.SockAddrNetlink);
            if (Libc.GetSockName(fd, &address, &length) != 0)
            {
                throw new NetlinkException("getsockname(AF_NETLINK)", Marshal.GetLastPInvokeError(), null);
            }

            return new NetlinkSocket(fd, address.PortId);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    private static void SetOption(int fd, int level, int name, int value)
    {
        if (Libc.SetSockOpt(fd, level, name, &value, sizeof(int)) != 0)
        {
            throw new NetlinkException($"setsockopt({level},{name})", Marshal.GetLastPInvokeError(), null);
        }
    }

    /// <summary>
    /// Sends one request (header seq/pid are filled here) and reads replies until the ack or NLMSG_DONE.
    /// Data messages go to <paramref name="handler"/>. Throws <see cref="NetlinkException"/> on an error ack.
    /// </summary>
    public void Execute<TState>(Span<byte> request, NetlinkOperation operation, ref TState state, NetlinkMessageHandler<TState>? handler)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_receiveBuffer is null, this);
            var sequence = ++_sequence;
            BinaryPrimitives.WriteUInt32LittleEndian(request[8..], sequence);
            BinaryPrimitives.WriteUInt32LittleEndian(request[12..], 0);
            Send(request, operation);

            var progress = new ReplyProgress();
            while (!progress.Completed)
            {
                var received = Receive(operation);
                ProcessDatagram(_receiveBuffer.AsSpan(0, received), sequence, operation, ref progress, ref state, handler);
            }

            if (progress.Interrupted)
            {
                throw new NetlinkDumpInterruptedException(operation.ToString());
            }
        }
    }

    private void Send(ReadOnlySpan<byte> request, NetlinkOperation operation)
    {
        var kernel = new Libc.SockAddrNetlink { Family = Libc.AF_NETLINK };
        fixed (byte* pointer = request)
        {
            while (true)
            {
                var sent = Libc.SendTo(_fd, pointer, request.Length, 0, &kernel, sizeof(Libc.SockAddrNetlink));
                if (sent >= 0)
                {
                    return;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    throw new NetlinkException(operation.ToString() + " (send)", errno, null);
                }
            }
        }
    }

    private int Receive(NetlinkOperation operation)
    {
        var received = ReceiveFromKernel();
        if (received < 0)
        {
            // A timeout or overrun mid-exchange leaves the socket out of step: it cannot be resynchronised.
            Dispose();
            throw new NetlinkException(operation.ToString() + " (receive)", (int)-received, null);
        }

        if (received > _receiveBuffer!.Length)
        {
            Dispose();
            throw new NetlinkException(operation.ToString() + " (receive: datagram truncated)", 0, null);
        }

        return (int)received;
    }

    /// <summary>
    /// Waits for one datagram of notifications (up to the receive timeout) and hands each message to
    /// <paramref name="handler"/>. Returns false on timeout. An overrun (the kernel dropped notifications because
    /// the receive buffer was full) throws a <see cref="NetlinkException"/> with ENOBUFS; the socket stays usable.
    /// Only for a subscribed socket that sends no requests, read by one thread.
    /// </summary>
    public bool ReceiveNotifications<TState>(ref TState state, NetlinkMessageHandler<TState> handler)
    {
        var buffer = _receiveBuffer;
        ObjectDisposedException.ThrowIf(buffer is null, this);
        long received;
        do
        {
            received = ReceiveFromKernel();
            if (received < 0)
            {
                return received == -Libc.EAGAIN ? false : throw new NetlinkException("netlink notifications (receive)", (int)-received, null);
            }
        }
        while (received > buffer.Length); // Too large to read whole: not ours to parse.

        var reader = new NetlinkMessageReader(buffer.AsSpan(0, (int)received));
        while (reader.TryRead(out var message))
        {
            handler(ref state, in message);
        }

        return true;
    }

    /// <summary>
    /// One datagram from the kernel into the receive buffer: its full length (more than the buffer when truncated), or
    /// -errno. Retries EINTR; skips datagrams from other senders, since only the kernel (port 0) may answer.
    /// </summary>
    private long ReceiveFromKernel()
    {
        var buffer = _receiveBuffer!;
        fixed (byte* pointer = buffer)
        {
            while (true)
            {
                var from = default(Libc.SockAddrNetlink);
                var fromLength = sizeof(Libc.SockAddrNetlink);
                var received = Libc.RecvFrom(_fd, pointer, buffer.Length, Libc.MSG_TRUNC, &from, &fromLength);
                if (received < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != Libc.EINTR)
                    {
                        return -errno;
                    }
                }
                else if (from.PortId == 0)
                {
                    return received;
                }
            }
        }
    }

    /// <summary>Progress of one request/reply exchange.</summary>
    internal struct ReplyProgress
    {
        public bool Completed;
        public bool Interrupted;
    }

    /// <summary>
    /// Handles the messages of one datagram: skips foreign sequence numbers, completes on ack/DONE,
    /// records NLM_F_DUMP_INTR and throws a typed exception on an error ack. Pure, so it can be fuzzed.
    /// </summary>
    internal static void ProcessDatagram<TState>(
        ReadOnlySpan<byte> datagram,
        uint sequence,
        NetlinkOperation operation,
        ref ReplyProgress progress,
        ref TState state,
        NetlinkMessageHandler<TState>? handler)
    {
        var reader = new NetlinkMessageReader(datagram);
        while (reader.TryRead(out var message))
        {
            if (message.Header.Sequence != sequence)
            {
                continue;
            }

            if ((message.Header.Flags & Nl.FlagDumpInterrupted) != 0)
            {
                progress.Interrupted = true;
            }

            switch (message.Header.Type)
            {
                case Nl.Noop:
                    continue;
                case Nl.Error:
                    progress.Completed = true;
                    var errno = ParseError(message, out var ack);
                    if (errno != 0)
                    {
                        throw new NetlinkException(operation.ToString(), errno, ack);
                    }

                    return;
                case Nl.Done:
                    progress.Completed = true;
                    // A failed dump reports its error as a negative int in NLMSG_DONE.
                    if (message.Payload.Length >= 4)
                    {
                        var status = MemoryMarshal.Read<int>(message.Payload);
                        if (status < 0)
                        {
                            throw new NetlinkException(operation.ToString(), -status, ParseAck(message, message.Payload[4..]));
                        }
                    }

                    return;
                default:
                    handler?.Invoke(ref state, in message);
                    break;
            }
        }

        if (reader.IsMalformed)
        {
            throw new NetlinkException(operation.ToString(), 0, "malformed netlink message");
        }
    }

    private static int ParseError(in NetlinkMessage message, out string? ack)
    {
        ack = null;
        var payload = message.Payload;
        if (payload.Length < 4)
        {
            return 0;
        }

        var errno = -MemoryMarshal.Read<int>(payload);
        if (errno == 0 || (message.Header.Flags & Nl.FlagAckTlvs) == 0 || payload.Length < 4 + Nl.HeaderLength)
        {
            return errno;
        }

        // Skip the echoed request: only its header when capped, the whole message otherwise.
        var echoed = MemoryMarshal.Read<NetlinkMessageHeader>(payload[4..]);
        var skip = 4 + ((message.Header.Flags & Nl.FlagCapped) != 0 ? Nl.HeaderLength : Nl.Align((int)Math.Min(echoed.Length, int.MaxValue / 2)));
        ack = skip <= payload.Length ? ParseAck(message, payload[skip..]) : null;
        return errno;
    }

    private static string? ParseAck(in NetlinkMessage message, ReadOnlySpan<byte> tlvs)
    {
        if ((message.Header.Flags & Nl.FlagAckTlvs) == 0)
        {
            return null;
        }

        var attributes = new NetlinkAttributeReader(tlvs);
        while (attributes.TryRead(out var attribute))
        {
            if (attribute.Type == Nl.ErrAttrMessage)
            {
                return attribute.GetString();
            }
        }

        return null;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_receiveBuffer is null)
            {
                return;
            }

            Libc.Close(_fd);
            _fd = -1;
            _receiveBuffer = null;
        }
    }
}
