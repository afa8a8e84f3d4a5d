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
    /// <summary>True when the link is gone from the namespace; false to have the caller delete it itself.</summary>
    bool TryRemove(int index, string name);
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
/// a small VM, which would otherwise be most of a DEL. Here a worker thread waits out the barrier, and the request completes
/// as soon as the kernel announces the link's removal (RTM_DELLINK on the link multicast group). Only veths of the
/// configured prefix in this reaper's namespace are touched, and a request names the link by index and name, so a
/// newer link of the same name is never taken.
/// </summary>
public sealed class HostVethReaper : IDisposable
{
    private const uint LinkGroup = 1; // RTMGRP_LINK
    private static readonly TimeSpan MonitorPoll = TimeSpan.FromMilliseconds(250);
    private readonly NetworkNamespace _namespace;
    private readonly bool _ownsNamespace;
    private readonly HostVethReaperOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();
    private readonly BlockingCollection<int> _deletions = new();
    private readonly Lock _startLock = new();
    private readonly List<Thread> _threads = [];
    private volatile bool _stopping;
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

            var link = _query!.FindLinkByIndex(index);
            if (link is null)
            {
                return new(HostVethReapOutcome.AlreadyGone);
            }

            if (link.Name != name || link.Kind != "veth")
            {
                return new(HostVethReapOutcome.Refused, $"link #{index} is {link.Kind ?? "a link"} '{link.Name}', not veth '{name}'");
            }

            waiter = _waiters.GetOrAdd(index, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            try
            {
                _deletions.Add(index, CancellationToken.None);
            }
            catch
            {
                _waiters.TryRemove(new KeyValuePair<int, TaskCompletionSource>(index, waiter));
                throw;
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // Dispose began between the checks: the plugin deletes the veth itself.
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
        finally
        {
            _waiters.TryRemove(new KeyValuePair<int, TaskCompletionSource>(index, waiter));
        }
    }

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_monitor is not null)
            {
                return;
            }

            // Subscribe before the first deletion, so no removal can be announced unseen.
            var monitor = NetworkNamespaceExecutor.Shared.Invoke(_namespace, static _ => NetlinkSocket.Open(LinkGroup, MonitorPoll), 0);
            try
            {
                _query = RtNetlinkClient.Open(_namespace);
                _identity = _namespace.Identity;
            }
            catch
            {
                monitor.Dispose();
                throw;
            }

            _monitor = monitor;
            Start("veth-reaper-monitor", Monitor);
            for (var i = 0; i < _options.Workers; i++)
            {
                var client = RtNetlinkClient.Open(_namespace);
                Start($"veth-reaper-{i}", () => Delete(client));
            }
        }
    }

    private void Start(string name, Action body)
    {
        var thread = new Thread(() => body()) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private void Delete(RtNetlinkClient client)
    {
        using (client)
        {
            foreach (var index in _deletions.GetConsumingEnumerable())
            {
                try
                {
                    client.DeleteLink(index);
                    Complete(index);
                }
                catch (NetlinkException ex) when (ex.IsNotFound)
                {
                    Complete(index);
                }
                catch (NetlinkException ex)
                {
                    Log.VethReapFailed(_logger, ex, index);
                    if (_waiters.TryGetValue(index, out var waiter))
                    {
                        waiter.TrySetException(ex);
                    }
                }
            }
        }
    }

    private void Monitor()
    {
        var monitor = _monitor!;
        var waiters = _waiters;
        while (!_stopping)
        {
            try
            {
                monitor.ReceiveNotifications(ref waiters, static (ref ConcurrentDictionary<int, TaskCompletionSource> w, in NetlinkMessage message) =>
                {
                    if (message.Header.Type == Rtm.DelLink && message.Payload.Length >= Unsafe.SizeOf<IfInfoMsg>())
                    {
                        var removed = MemoryMarshal.Read<IfInfoMsg>(message.Payload).Index;
                        if (w.TryGetValue(removed, out var waiter))
                        {
                            waiter.TrySetResult();
                        }
                    }
                });
            }
            catch (NetlinkException ex) when (ex.Errno == Interop.Libc.ENOBUFS)
            {
                // Notifications were dropped: settle every waiter whose link is already gone.
                foreach (var index in _waiters.Keys)
                {
                    if (_query!.FindLinkByIndex(index) is null)
                    {
                        Complete(index);
                    }
                }
            }
            catch (Exception ex) when (ex is NetlinkException or ObjectDisposedException)
            {
                Log.VethReapMonitorStopped(_logger, ex);
                return; // Requests still complete when their deletion returns.
            }
        }
    }

    private void Complete(int index)
    {
        if (_waiters.TryGetValue(index, out var waiter))
        {
            waiter.TrySetResult();
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
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        _monitor?.Dispose();
        _query?.Dispose();
        _deletions.Dispose();
        if (_ownsNamespace)
        {
            _namespace.Dispose();
        }
    }
}
