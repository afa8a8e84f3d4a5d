using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Pods;

/// <summary>Removes a pod's host veth on the datapath's behalf (see <see cref="HostVethReaper"/>).</summary>
public interface IHostVethRemover
{
    /// <summary>
    /// True when the link is gone from <paramref name="hostNamespace"/> (where the caller found it); false to have the
    /// caller delete it itself.
    /// </summary>
    bool TryRemove(int index, string name, NetworkNamespaceIdentity hostNamespace);
}

/// <summary>What became of a <see cref="HostVethReaper.RemoveAsync"/> request.</summary>
public enum HostVethReapOutcome
{
    /// <summary>The link left the namespace (the kernel may still be releasing its memory).</summary>
    Removed,

    /// <summary>No link has that index any more.</summary>
    AlreadyGone,

    /// <summary>Not done; <see cref="HostVethReapResult.Reason"/> says why. The caller should delete the link itself.</summary>
    Refused,
}

public readonly record struct HostVethReapResult(HostVethReapOutcome Outcome, string? Reason = null);

/// <summary>Settings of a <see cref="HostVethReaper"/>.</summary>
public sealed record HostVethReaperOptions
{
    /// <summary>Only veths whose names start with this prefix are removed (AWS_VPC_K8S_CNI_VETHPREFIX).</summary>
    public string VethPrefix { get; init; } = "eni";

    /// <summary>Deletions that may wait out the kernel at once; each holds one thread for ~15 ms.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>How long a request waits for the link to leave the namespace before it is refused.</summary>
    public TimeSpan WaitLimit { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Deletes pod host veths for short-lived callers (the CNI plugin on DEL). An RTM_DELLINK of a veth takes the link out
/// of the namespace within a millisecond, but the call returns only after the kernel's RCU barrier, about 15 ms on
/// a small VM, which would otherwise be most of a DEL. Here a worker thread waits out the barrier, and the request
/// completes as soon as the kernel announces the link's removal (RTM_DELLINK on the link multicast group). Only veths
/// of the configured prefix in this reaper's namespace are touched, and a request names the link by index and name, so
/// a newer link of the same name is never taken.
/// </summary>
public sealed class HostVethReaper : IDisposable
{
    private const uint LinkGroup = 1; // RTMGRP_LINK
    private const int OutstandingPerWorker = 8;
    private static readonly TimeSpan MonitorPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan JoinLimit = TimeSpan.FromSeconds(5);
    private readonly NetworkNamespace _namespace;
    private readonly bool _ownsNamespace;
    private readonly HostVethReaperOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    // One waiter per link index, shared by duplicate requests; removed by whoever settles it (the monitor or a
    // worker), never by a request that stops waiting, so a cancelled request cannot strand another.
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();
    private readonly BlockingCollection<int> _deletions = new();
    private readonly Lock _startLock = new();
    private readonly Lock _queryLock = new();
    private readonly List<Thread> _workers = [];
    private Thread? _monitorThread;
    private volatile bool _stopping;
    private bool _started;
    private int _outstanding;
    private RtNetlinkClient? _query;
    private NetlinkSocket? _monitor;
    private NetworkNamespaceIdentity _identity;

    /// <summary>A reaper for the veths of <paramref name="hostNamespace"/> (null: the process's own namespace).</summary>
    public HostVethReaper(HostVethReaperOptions? options = null, NetworkNamespace? hostNamespace = null, ILogger<HostVethReaper>? logger = null, TimeProvider? time = null)
    {
        _options = options ?? new HostVethReaperOptions();
        if (string.IsNullOrEmpty(_options.VethPrefix) || _options.VethPrefix.Length > 4)
        {
            throw new ArgumentException($"AWS_VPC_K8S_CNI_VETHPREFIX '{_options.VethPrefix}' must be 1-4 characters.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Workers, 1, nameof(options));
        _ownsNamespace = hostNamespace is null;
        _namespace = hostNamespace ?? NetworkNamespace.Open("/proc/self/ns/net");
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Test seam: when false, only the kernel's notification completes a request (proves that path).</summary>
    internal bool WorkersCompleteRequests { get; init; } = true;

    /// <summary>
    /// Removes the veth with this index and name when it is one of ours, and completes once it has left the namespace.
    /// <paramref name="callerNamespace"/> is the namespace the caller saw the link in; a request from another namespace is
    /// refused, since indexes and names are per namespace.
    /// </summary>
    public async Task<HostVethReapResult> RemoveAsync(int index, string name, NetworkNamespaceIdentity? callerNamespace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (index <= 0 || name.Length is 0 or > 15 || !name.StartsWith(_options.VethPrefix, StringComparison.Ordinal))
        {
            return new(HostVethReapOutcome.Refused, $"'{name}' (#{index}) is not a pod veth of prefix '{_options.VethPrefix}'");
        }

        TaskCompletionSource waiter;
        try
        {
            EnsureStarted();
            if (callerNamespace is { } caller && caller != _identity)
            {
                return new(HostVethReapOutcome.Refused, "the caller is in another network namespace");
            }

            var link = FindLink(index);
            if (link is null)
            {
                return new(HostVethReapOutcome.AlreadyGone);
            }

            if (link.Name != name || link.Kind != "veth")
            {
                return new(HostVethReapOutcome.Refused, $"link #{index} is {link.Kind ?? "a link"} '{link.Name}', not veth '{name}'");
            }

            // Workers stuck in the kernel (a device that never frees) must not make every DEL wait out WaitLimit.
            if (Interlocked.Increment(ref _outstanding) > _options.Workers * OutstandingPerWorker)
            {
                Interlocked.Decrement(ref _outstanding);
                return new(HostVethReapOutcome.Refused, $"busy: {_options.Workers * OutstandingPerWorker} deletions outstanding");
            }

            waiter = _waiters.GetOrAdd(index, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            try
            {
                _deletions.Add(index, CancellationToken.None);
            }
            catch
            {
                Interlocked.Decrement(ref _outstanding);
                throw;
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // Dispose began between the checks: the caller deletes the veth itself.
            return new(HostVethReapOutcome.Refused, "shutting down");
        }
        catch (IOException ex)
        {
            return new(HostVethReapOutcome.Refused, "netlink unavailable: " + ex.Message);
        }

        try
        {
            await waiter.Task.WaitAsync(_options.WaitLimit, _time, cancellationToken).ConfigureAwait(false);
            return new(HostVethReapOutcome.Removed);
        }
        catch (TimeoutException)
        {
            return new(HostVethReapOutcome.Refused, $"link #{index} still present after {_options.WaitLimit.TotalSeconds:0.#} s");
        }
        catch (NetlinkException ex)
        {
            return new(HostVethReapOutcome.Refused, ex.Message);
        }
    }

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_started)
            {
                return;
            }

            // Everything is opened before anything starts, so a failure leaves nothing half running. The monitor
            // subscribes before the first deletion, so no removal can be announced unseen.
            var opened = new List<IDisposable>();
            try
            {
                var monitor = NetworkNamespaceExecutor.Shared.Invoke(_namespace, static _ => NetlinkSocket.Open(LinkGroup, MonitorPoll), 0);
                opened.Add(monitor);
                var query = RtNetlinkClient.Open(_namespace);
                opened.Add(query);
                var clients = new List<RtNetlinkClient>();
                for (var i = 0; i < _options.Workers; i++)
                {
                    var client = RtNetlinkClient.Open(_namespace);
                    opened.Add(client);
                    clients.Add(client);
                }

                _identity = _namespace.Identity;
                _monitor = monitor;
                _query = query;
                _monitorThread = new Thread(() => Monitor(monitor)) { IsBackground = true, Name = "veth-reaper-monitor" };
                _monitorThread.Start();
                foreach (var client in clients)
                {
                    var worker = new Thread(() => Work(client)) { IsBackground = true, Name = $"veth-reaper-{_workers.Count}" };
                    _workers.Add(worker);
                    worker.Start();
                }

                _started = true;
            }
            catch
            {
                opened.ForEach(o => o.Dispose());
                throw;
            }
        }
    }

    /// <summary>The link with this index, on a query socket that is reopened once if the kernel broke the old one.</summary>
    private NetworkLink? FindLink(int index)
    {
        lock (_queryLock)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    ObjectDisposedException.ThrowIf(_stopping, this);
                    _query ??= RtNetlinkClient.Open(_namespace);
                    return _query.FindLinkByIndex(index);
                }
                catch (Exception ex) when (attempt == 0 && !_stopping && ex is ObjectDisposedException or NetlinkException)
                {
                    _query?.Dispose();
                    _query = null;
                }
            }
        }
    }

    private void Work(RtNetlinkClient? client)
    {
        try
        {
            foreach (var index in _deletions.GetConsumingEnumerable())
            {
                try
                {
                    client ??= RtNetlinkClient.Open(_namespace);
                    client.DeleteLink(index);
                    if (WorkersCompleteRequests)
                    {
                        Settle(index, null);
                    }
                }
                catch (NetlinkException ex) when (ex.IsNotFound)
                {
                    Settle(index, null);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A refusal or a socket the kernel broke: report it to the request, and use a fresh socket next.
                    _logger.VethReapFailed(ex, index);
                    Settle(index, ex);
                    client?.Dispose();
                    client = null;
                }
                finally
                {
                    Interlocked.Decrement(ref _outstanding);
                }
            }
        }
        finally
        {
            client?.Dispose();
        }
    }

    private void Monitor(NetlinkSocket monitor)
    {
        var reaper = this;
        while (!_stopping)
        {
            try
            {
                monitor.ReceiveNotifications(ref reaper, static (ref HostVethReaper r, in NetlinkMessage message) =>
                {
                    // Family AF_UNSPEC: a link's own removal (AF_BRIDGE variants report port changes of a live link).
                    if (message.Header.Type == Rtm.DelLink && message.Payload.Length >= Unsafe.SizeOf<IfInfoMsg>()
                        && MemoryMarshal.Read<IfInfoMsg>(message.Payload) is { Family: 0 } removed)
                    {
                        r.Settle(removed.Index, null);
                    }
                });
            }
            catch (NetlinkException ex) when (ex.Errno == Interop.Libc.ENOBUFS)
            {
                SettleVanished();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _logger.VethReapMonitorStopped(ex);
                return; // Requests still complete when their deletion returns.
            }
        }
    }

    /// <summary>After dropped notifications: settles every waiter whose link is already gone.</summary>
    private void SettleVanished()
    {
        foreach (var index in _waiters.Keys)
        {
            try
            {
                if (FindLink(index) is null)
                {
                    Settle(index, null);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                return; // The workers settle these when their deletions return.
            }
        }
    }

    private void Settle(int index, Exception? failure)
    {
        if (_waiters.TryRemove(index, out var waiter))
        {
            if (failure is null)
            {
                waiter.TrySetResult();
            }
            else
            {
                waiter.TrySetException(failure);
            }
        }
    }

    /// <summary>Finishes the deletions already queued, then stops.</summary>
    public void Dispose()
    {
        lock (_startLock)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        _deletions.CompleteAdding();
        var workersStopped = _workers.All(w => w.Join(JoinLimit));
        if (_monitorThread?.Join(JoinLimit) != false)
        {
            _monitor?.Dispose(); // Only once its reader is gone: a closed descriptor can be reused while read.
        }

        lock (_queryLock)
        {
            _query?.Dispose();
        }

        if (workersStopped)
        {
            _deletions.Dispose();
        }

        if (_ownsNamespace)
        {
            _namespace.Dispose();
        }
    }
}
