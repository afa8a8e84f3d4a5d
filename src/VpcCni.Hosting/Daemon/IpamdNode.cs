using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Aws;
using VpcCni.Cloud;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The node's address manager as the gRPC services see it: node initialisation, the pool controller, and the
/// request handling of AddNetwork/DelNetwork and VpcCni's CHECK/STATUS/GC calls. Host networking is delegated to
/// an <see cref="INodeNetwork"/> (the Linux datapath, or nothing on a simulated node without real ENIs).
/// </summary>
public sealed partial class IpamdNode : IAsyncDisposable
{
    /// <summary>Container ids, interface and network names longer than this are refused (runtimes use 64).</summary>
    public const int MaxIdentifierLength = 256;

    private readonly DaemonSettings _settings;
    /// <summary>How long shutdown waits for the pool loop's in-flight cloud work.</summary>
    internal static readonly TimeSpan PoolLoopStopGrace = IpamEngine.StopGrace;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IpamEngine _engine;
    private readonly NodeStartStep _startStep;
    private readonly LeakedEniCleanup? _cleanup;
    private readonly PoolController _controller;
    private readonly IpamdMetrics _metrics;
    /// <summary>A container built only for this node (<see cref="OwnContainer"/>), disposed with it; null when the caller owns it.</summary>
    private IAsyncDisposable? _ownedContainer;
    private readonly Kubernetes.KubernetesNodeAgent? _kubernetes;
    private readonly Kubernetes.KubernetesPodReporter? _observer;
    /// <summary>The node's place in the fleet (VPC_CNI_EC2_FLEET_SCHEDULE), started with the Kubernetes agent; the container disposes it.</summary>
    private readonly Kubernetes.KubernetesFleetMembership? _fleet;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _leakedEniSweep;
    private readonly VpcCidrWatcher? _vpcCidrs;
    private Task? _vpcCidrWatch;
    private volatile string _state = "initialising";
    private readonly TaskCompletionSource _initialised = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    /// <summary>Makes the node dispose <paramref name="container"/> with itself (a container built only for this node).</summary>
    internal void OwnContainer(IAsyncDisposable container) => _ownedContainer = container;

    /// <summary>A node over a container's engine: <c>AddVpcCniDaemon</c> is the one way to compose it; the container owns and disposes the parts.</summary>
    internal IpamdNode(IpamEngine engine, NodeStartStep startStep, DaemonSettings settings, LeakedEniCleanup? cleanup, TimeProvider timeProvider, ILoggerFactory loggerFactory, IpamdMetrics metrics,
        Kubernetes.KubernetesNodeAgent? kubernetes = null, VpcCidrWatcher? vpcCidrs = null, Kubernetes.KubernetesFleetMembership? fleet = null)
    {
        _kubernetes = kubernetes;
        _fleet = fleet;
        _vpcCidrs = vpcCidrs;
        _observer = kubernetes?.Reporter;
        _engine = engine;
        _startStep = startStep;
        _settings = settings;
        _cleanup = cleanup;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("VpcCni.Daemon");
        _metrics = metrics;
        _controller = engine.Controller;
        _metrics.Observe(_controller);
    }

    /// <summary>True once the node is initialised and ADDs are served.</summary>
    public bool IsReady => _state == "ready";

    /// <summary>Human-readable state (initialising, ready, stopping, failed: ...).</summary>
    public string State => _state;

    public PoolController Controller => _controller;

    /// <summary>The instance as read at start, with the VPC's CIDR blocks as last seen by the VPC-CIDR watcher.</summary>
    public InstanceIdentity? Instance => _startStep.Instance;

    public IpamdMetrics Metrics => _metrics;

    /// <summary>
    /// Node initialisation (upstream nodeInit): identity, host network, own leftover ENIs (the start step), then the
    /// engine's restore and first round; then the pool loop and the hourly leaked-ENI sweep.
    /// </summary>
    /// <summary>How long the start waits for the node list before its first EC2 request (VPC_CNI_EC2_FLEET_SCHEDULE).</summary>
    internal static readonly TimeSpan FleetListWait = TimeSpan.FromSeconds(10);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        _metrics.CreateInitialSeries();
        if (_kubernetes is not null)
        {
            // Listing starts now, so that it overlaps the node's own start; the engine waits for it before restoring.
            _kubernetes.Start();
            // Before the node's own start: its first EC2 calls already take their slots when the list is in.
            _fleet?.Start();
        }

        if (_fleet is not null)
        {
            // A fleet that starts together sends its first EC2 requests together: wait (briefly) for this node's place.
            await _fleet.WaitForFirstListAsync(FleetListWait, _time, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            LogNoKubernetes(_logger);
        }

        try
        {
            await _engine.StartAsync(cancellationToken).ConfigureAwait(false);
            await _engine.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            _state = "ready";
            _initialised.TrySetResult();
            _metrics.RecordStartup(_time.GetElapsedTime(started), success: true, withApiServer: _kubernetes is not null);
            var stats = _controller.Datastore.GetStats();
            var instance = _startStep.Instance!;
            LogReady(_logger, instance.InstanceId, instance.InstanceType, stats);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _state = "failed: " + ex.Message;
            _initialised.TrySetResult();
            _metrics.RecordStartup(_time.GetElapsedTime(started), success: false, withApiServer: _kubernetes is not null);
            throw;
        }

        // Upstream's hourly leaked-ENI sweep, with the real EC2 provider only (DISABLE_LEAKED_ENI_CLEANUP turns it off).
        // Upstream forces it off in IPv6 mode (only the primary ENI is used, nothing is ever created).
        _leakedEniSweep = _settings.Ipam.EnableIPv6 ? null : _cleanup?.StartHourlySweep(_stopping.Token);

        // Upstream's 30 s VPC-CIDR watcher: the SNAT rules and AddNetwork's VPC CIDRs follow blocks added or removed later.
        _vpcCidrWatch = _vpcCidrs?.RunAsync(_stopping.Token);
    }

    /// <summary>Graceful stop: no more growth, the journal is compacted; DELs are still served until disposal.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _state = "stopping";
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _engine.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_leakedEniSweep is not null)
        {
            // The loop ends on its own once cancelled; a delete in flight gets the same bounded grace as the pool loop.
            await _leakedEniSweep.WaitAsync(PoolLoopStopGrace, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_vpcCidrWatch is not null)
        {
            await _vpcCidrWatch.WaitAsync(PoolLoopStopGrace, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent, so an extra disposal (a host disposing a node its container also owns) is harmless.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
        if (_ownedContainer is not null)
        {
            // Disposes the engine, the pool, the durable record and the ports it built, each once (this node's second
            // disposal returns at once).
            await _ownedContainer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>AddNetwork: validate, assign, and describe the address for the plugin.</summary>
    public Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken) =>
        AddNetworkAsync(request, maxWait: null, cancellationToken);

    /// <summary>The node's resolved ENIConfig name under custom networking (introspection); null otherwise or until the node is read.</summary>
    internal string? EniConfigName => _kubernetes?.EniConfig?.Current?.Name;

    /// <summary>
    /// AddNetwork whose wait for a grow is also capped by <paramref name="maxWait"/> (what is left of the caller's
    /// deadline), so a waiting ADD fails with its named cause before the caller gives up.
    /// </summary>
    public async Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, TimeSpan? maxWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        _metrics.AddRequests.Add(1);
        var invalid = Validate(request.NetworkName, request.ContainerID, request.IfName) ?? ValidateLength("K8S_POD_NAME", request.K8SPODNAME) ?? ValidateLength("K8S_POD_NAMESPACE", request.K8SPODNAMESPACE);
        if (invalid is not null)
        {
            return new AddNetworkReply { Success = false, FailureReason = invalid };
        }

        if (!IsReady)
        {
            return new AddNetworkReply { Success = false, FailureReason = $"ipamd is not ready ({_state})" };
        }

        if (request.RequiresMultiNICAttachment)
        {
            return new AddNetworkReply { Success = false, FailureReason = "multi-NIC attachments are not supported (ENABLE_MULTI_NIC is off)" };
        }

        var started = _time.GetTimestamp();
        var key = new AttachmentKey(request.NetworkName, request.ContainerID, request.IfName);
        if (_controller.IPv6 is not null)
        {
            return await AddIPv6Async(request, key, started, cancellationToken).ConfigureAwait(false);
        }

        var result = await _controller.AssignAsync(key, new PodMetadata(request.K8SPODNAMESPACE, request.K8SPODNAME), maxWait, cancellationToken).ConfigureAwait(false);
        _metrics.AssignWait.Record(_time.GetElapsedTime(started).TotalSeconds);
        if (!result.Succeeded)
        {
            _metrics.NoAvailableAddresses.Add(1);
            LogAssignFailed(_logger, key, result.Failure, result.Detail ?? "");
            _observer?.OnAssignFailed(request.K8SPODNAMESPACE, request.K8SPODNAME, result.Failure, result.Detail ?? "");
            return new AddNetworkReply { Success = false, FailureReason = $"{result.Failure}: {result.Detail}" };
        }

        var waited = _time.GetElapsedTime(started);
        if (result.Detail is { } waitedFor && waited >= _settings.Kubernetes.SlowAssignEventThreshold)
        {
            _observer?.OnAssignDelayed(request.K8SPODNAMESPACE, request.K8SPODNAME, result.Address.ToIPAddress().ToString(), waited, waitedFor);
        }

        var reply = new AddNetworkReply { Success = true, UseExternalSNAT = _settings.ExternalSnat, NetworkPolicyMode = _settings.NetworkPolicyMode };
        reply.IPAllocationMetadata.Add(new IPAllocationMetadata
        {
            IPv4Addr = result.Address.ToIPAddress().ToString(),
            DeviceNumber = result.DeviceNumber,
            RouteTableId = RouteTableOf(result.RouteTableId),
        });
        foreach (var cidr in _startStep.Instance?.VpcCidrs ?? [])
        {
            reply.VPCv4CIDRs.Add(cidr.ToString());
        }

        if (!_settings.ExternalSnat)
        {
            foreach (var cidr in _settings.ExcludeSnatCidrs)
            {
                reply.VPCv4CIDRs.Add(cidr.ToString());
            }
        }

        LogAssigned(_logger, key, reply.IPAllocationMetadata[0].IPv4Addr, result.Reused);
        _observer?.OnAssigned(request.K8SPODNAMESPACE, request.K8SPODNAME, reply.IPAllocationMetadata[0].IPv4Addr);
        return reply;
    }

    /// <summary>DelNetwork: release; an unknown attachment succeeds with no address (DEL is idempotent).</summary>
    public async Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        _metrics.DelRequests.Add(1, new KeyValuePair<string, object?>("reason", string.IsNullOrEmpty(request.Reason) ? "PodDeleted" : request.Reason));
        var invalid = Validate(request.NetworkName, request.ContainerID, request.IfName);
        if (invalid is not null)
        {
            return new DelNetworkReply { Success = false };
        }

        if (!IsReady && !await WaitUntilReadyAsync(DelWaitForInitialisation, cancellationToken).ConfigureAwait(false))
        {
            // The record is not loaded yet: answering "unknown" would make the plugin tear down from prevResult and
            // leave the allocation behind. A refusal makes the runtime retry the DEL once the node serves.
            LogDelBeforeReady(_logger, request.ContainerID, _state);
            return new DelNetworkReply { Success = false };
        }

        var key = new AttachmentKey(request.NetworkName, request.ContainerID, request.IfName);
        if (_controller.IPv6 is not null)
        {
            return await DelIPv6Async(request, key, cancellationToken).ConfigureAwait(false);
        }

        UnassignResult result;
        try
        {
            result = await _controller.UnassignAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DurableRecordException or IOException)
        {
            // The release could not be made durable (full disk): the allocation stays, and a refusal makes the runtime
            // retry the DEL. An exception would reach the plugin as an RPC error, which it must take for a daemon that
            // is gone (upstream's rule) and answer with success, leaving the address allocated to nobody.
            LogDelNotRecorded(_logger, key, ex.Message);
            return new DelNetworkReply { Success = false };
        }

        var reply = new DelNetworkReply { Success = true, NetworkPolicyMode = _settings.NetworkPolicyMode };
        if (result.Known)
        {
            reply.IPAllocationMetadata.Add(new IPAllocationMetadata
            {
                IPv4Addr = result.Address.ToIPAddress().ToString(),
                DeviceNumber = result.DeviceNumber,
                RouteTableId = RouteTableOf(result.RouteTableId),
            });
            LogReleased(_logger, key, reply.IPAllocationMetadata[0].IPv4Addr);
            _observer?.OnReleased(request.K8SPODNAMESPACE, request.K8SPODNAME, reply.IPAllocationMetadata[0].IPv4Addr);
        }

        return reply;
    }

    /// <summary>How long a DEL that arrives while the node initialises waits for it before asking to be retried.</summary>
    /// <summary>
    /// IPv6 ADD (upstream §4.5, §5.1): the pod's /128 from the primary ENI's /80 in <c>IPv6Addr</c>, the VPC's IPv6 blocks
    /// in <c>VPCv6CIDRs</c>; <c>UseExternalSNAT</c> is never set (no SNAT in IPv6 mode) and no IPv4 is given.
    /// </summary>
    private async Task<AddNetworkReply> AddIPv6Async(AddNetworkRequest request, AttachmentKey key, long started, CancellationToken cancellationToken)
    {
        var result = await _controller.AssignIPv6Async(key, new PodMetadata(request.K8SPODNAMESPACE, request.K8SPODNAME), cancellationToken).ConfigureAwait(false);
        _metrics.AssignWait.Record(_time.GetElapsedTime(started).TotalSeconds);
        if (!result.Succeeded)
        {
            _metrics.NoAvailableAddresses.Add(1);
            LogAssignFailed(_logger, key, result.Failure, result.Detail ?? "");
            _observer?.OnAssignFailed(request.K8SPODNAMESPACE, request.K8SPODNAME, result.Failure, result.Detail ?? "");
            return new AddNetworkReply { Success = false, FailureReason = $"{result.Failure}: {result.Detail}" };
        }

        var allocation = result.Allocation!;
        var address = allocation.Address.ToString();
        var reply = new AddNetworkReply { Success = true, NetworkPolicyMode = _settings.NetworkPolicyMode };
        reply.IPAllocationMetadata.Add(new IPAllocationMetadata
        {
            IPv6Addr = address,
            DeviceNumber = allocation.DeviceNumber,
            // The primary ENI's pods use the main table in IPv6 mode too.
            RouteTableId = RouteTableOf(0),
        });
        foreach (var cidr in _controller.IPv6VpcCidrs)
        {
            reply.VPCv6CIDRs.Add(cidr.ToString());
        }

        LogAssigned(_logger, key, address, result.Reused);
        _observer?.OnAssigned(request.K8SPODNAMESPACE, request.K8SPODNAME, address);
        return reply;
    }

    /// <summary>IPv6 DEL: releases the key's /128 (cooldown starts) and reports it; an unknown key is a success with no address.</summary>
    private async Task<DelNetworkReply> DelIPv6Async(DelNetworkRequest request, AttachmentKey key, CancellationToken cancellationToken)
    {
        IPv6Allocation? released;
        try
        {
            released = await _controller.UnassignIPv6Async(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DurableRecordException or IOException)
        {
            LogDelNotRecorded(_logger, key, ex.Message);
            return new DelNetworkReply { Success = false };
        }

        var reply = new DelNetworkReply { Success = true, NetworkPolicyMode = _settings.NetworkPolicyMode };
        if (released is not null)
        {
            var address = released.Address.ToString();
            reply.IPAllocationMetadata.Add(new IPAllocationMetadata { IPv6Addr = address, DeviceNumber = released.DeviceNumber, RouteTableId = RouteTableOf(0) });
            LogReleased(_logger, key, address);
            _observer?.OnReleased(request.K8SPODNAMESPACE, request.K8SPODNAME, address);
        }

        return reply;
    }

    internal static readonly TimeSpan DelWaitForInitialisation = TimeSpan.FromSeconds(5);

    private async Task<bool> WaitUntilReadyAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        try
        {
            await _initialised.Task.WaitAsync(limit, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        return IsReady;
    }

    /// <summary>
    /// ConfigServerBackend.GetNetworkPolicyConfigs: the node's settings for the network policy agent. Identity fields are
    /// empty until the node has read its instance (upstream answers from its IMDS cache, empty when unknown).
    /// </summary>
    public NetworkPolicyAgentConfigReply GetNetworkPolicyConfigs()
    {
        var instance = _startStep.Instance;
        return new NetworkPolicyAgentConfigReply
        {
            NetworkPolicyMode = _settings.NetworkPolicyMode,
            // ENABLE_MULTI_NIC=true is refused, so only card 0 is ever managed.
            MultiNICEnabled = false,
            NodeIPv4 = instance?.PrimaryIPv4.ToString() ?? "",
            // IPv6 mode: the primary ENI's IPv6 (upstream: IMDS ipv6); IPv4 mode leaves it empty, as upstream.
            NodeIPv6 = _controller.IPv6NodeAddress?.ToString() ?? "",
            InstanceID = instance?.InstanceId ?? "",
            Region = instance is null ? "" : RegionOf(instance.AvailabilityZone),
        };
    }

    /// <summary>
    /// The Region of an availability zone: its leading "&lt;area&gt;-&lt;direction&gt;-&lt;n&gt;" (us-west-2a, us-west-2-lax-1a →
    /// us-west-2; us-gov-west-1b → us-gov-west-1); "" when the name has no such part.
    /// </summary>
    internal static string RegionOf(string availabilityZone)
    {
        var parts = availabilityZone.Split('-');
        for (var i = 1; i < parts.Length; i++)
        {
            var digits = parts[i].TakeWhile(char.IsAsciiDigit).Count();
            if (digits > 0 && parts[i][digits..].All(char.IsAsciiLetterLower))
            {
                return string.Join('-', parts[..i]) + "-" + parts[i][..digits];
            }
        }

        return "";
    }

    /// <summary>CHECK support: the record of one attachment.</summary>
    public GetAttachmentReply GetAttachment(GetAttachmentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsReady || Validate(request.NetworkName, request.ContainerID, request.IfName) is not null)
        {
            return new GetAttachmentReply { Found = false };
        }

        var key = new AttachmentKey(request.NetworkName, request.ContainerID, request.IfName);
        if (_controller.IPv6 is { } v6)
        {
            // VpcCni's own message has one address field: it carries the pod's address of either family.
            return v6.Find(key) is { } held
                ? new GetAttachmentReply
                {
                    Found = true,
                    IPv4Addr = held.Address.ToString(),
                    DeviceNumber = held.DeviceNumber,
                    RouteTableId = RouteTableOf(0),
                    PodNamespace = held.Metadata.Namespace ?? "",
                    PodName = held.Metadata.Name ?? "",
                }
                : new GetAttachmentReply { Found = false };
        }

        if (!_controller.Datastore.TryGetAssignment(key, out var record, out var device, out var table))
        {
            return new GetAttachmentReply { Found = false };
        }

        return new GetAttachmentReply
        {
            Found = true,
            IPv4Addr = record.Address.ToIPAddress().ToString(),
            DeviceNumber = device,
            RouteTableId = RouteTableOf(table),
            PodNamespace = record.Metadata.Namespace ?? "",
            PodName = record.Metadata.Name ?? "",
        };
    }

    /// <summary>STATUS support: can an ADD be served now (or soon)?</summary>
    public GetStatusReply GetStatus()
    {
        if (!IsReady)
        {
            return new GetStatusReply { Ready = false, Reason = $"ipamd is {_state}", LimitedConnectivity = _state.StartsWith("failed", StringComparison.Ordinal) };
        }

        if (_controller.IPv6 is { } store)
        {
            // A /80 never runs out in practice; the node is ready once it has its prefix.
            var free = store.Capacity - (UInt128)(store.AssignedCount + store.CoolingCount);
            return new GetStatusReply { Ready = true, AvailableIPs = free > int.MaxValue ? int.MaxValue : (int)free, AssignedIPs = store.AssignedCount, CanGrow = false };
        }

        var stats = _controller.Datastore.GetStats();
        var decision = _controller.LastDecision;
        var canGrow = decision.Blocked == GrowthBlock.None;
        var ready = stats.ReadyIPs > 0 || canGrow;
        return new GetStatusReply
        {
            Ready = ready,
            Reason = ready ? "" : $"no free address and the pool cannot grow ({decision.Blocked})",
            AvailableIPs = stats.ReadyIPs,
            AssignedIPs = stats.AssignedIPs,
            CanGrow = canGrow,
        };
    }

    /// <summary>GC: releases every allocation of the network whose attachment the runtime no longer lists.</summary>
    public async Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = new GarbageCollectReply();
        if (!IsReady)
        {
            reply.Errors.Add($"ipamd is {_state}");
            return reply;
        }

        var valid = request.ValidAttachments.Select(a => (a.ContainerID, a.IfName)).ToHashSet();
        if (_controller.IPv6 is { } v6)
        {
            foreach (var held in v6.Allocations)
            {
                if (held.Key.NetworkName != request.NetworkName || valid.Contains((held.Key.ContainerId, held.Key.IfName)))
                {
                    continue;
                }

                try
                {
                    if (await _controller.UnassignIPv6Async(held.Key, cancellationToken).ConfigureAwait(false) is { } released)
                    {
                        reply.Released.Add(new ReleasedAttachment
                        {
                            ContainerID = held.Key.ContainerId,
                            IfName = held.Key.IfName,
                            IPv4Addr = released.Address.ToString(), // the pod's address of either family
                            RouteTableId = RouteTableOf(0),
                            PodNamespace = held.Metadata.Namespace ?? "",
                            PodName = held.Metadata.Name ?? "",
                        });
                    }
                }
                catch (Exception ex) when (ex is IOException or DurableRecordException)
                {
                    reply.Errors.Add($"{held.Key}: {ex.Message}");
                }
            }

            return reply;
        }

        foreach (var record in _controller.Datastore.GetAllocations())
        {
            if (record.Key.NetworkName != request.NetworkName || valid.Contains((record.Key.ContainerId, record.Key.IfName)))
            {
                continue;
            }

            try
            {
                var released = await _controller.UnassignAsync(record.Key, cancellationToken).ConfigureAwait(false);
                if (released.Known)
                {
                    reply.Released.Add(new ReleasedAttachment
                    {
                        ContainerID = record.Key.ContainerId,
                        IfName = record.Key.IfName,
                        IPv4Addr = released.Address.ToIPAddress().ToString(),
                        RouteTableId = RouteTableOf(released.RouteTableId),
                        PodNamespace = record.Metadata.Namespace ?? "",
                        PodName = record.Metadata.Name ?? "",
                    });
                }
            }
            catch (Exception ex) when (ex is IOException or DurableRecordException)
            {
                reply.Errors.Add($"{record.Key}: {ex.Message}");
            }
        }

        return reply;
    }

    /// <summary>Upstream's table ids: main (254) for the primary ENI, device number + 1 otherwise.</summary>
    private static int RouteTableOf(int datastoreTable) => datastoreTable == 0 ? 254 : datastoreTable;

    private static string? Validate(string networkName, string containerId, string ifName)
    {
        if (string.IsNullOrEmpty(networkName) || string.IsNullOrEmpty(containerId) || string.IsNullOrEmpty(ifName))
        {
            return "NetworkName, ContainerID and IfName are required";
        }

        return ValidateLength("NetworkName", networkName) ?? ValidateLength("ContainerID", containerId) ?? ValidateLength("IfName", ifName);
    }

    private static string? ValidateLength(string field, string value) =>
        value.Length > MaxIdentifierLength ? $"{field} is longer than {MaxIdentifierLength} characters" : null;

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "no Kubernetes API (no service account, --kubeconfig or --kube-server): running without it: max pods from the instance type, no pod evidence at restore (allocations are kept unless the host shows the pod gone), no vpc.amazonaws.com/pod-ips annotation, no events")]
    private static partial void LogNoKubernetes(ILogger logger);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "node {InstanceId} ({InstanceType}) ready: {Stats}")]
    private static partial void LogReady(ILogger logger, string instanceId, string instanceType, PoolStats stats);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "assigned {Address} to {Key} (reused: {Reused})")]
    private static partial void LogAssigned(ILogger logger, AttachmentKey key, string address, bool reused);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "no address for {Key}: {Reason} {Detail}")]
    private static partial void LogAssignFailed(ILogger logger, AttachmentKey key, AssignFailureReason reason, string detail);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "released {Address} of {Key}")]
    private static partial void LogReleased(ILogger logger, AttachmentKey key, string address);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "DEL of {Key} not recorded durably, refused so that the runtime retries it: {Reason}")]
    private static partial void LogDelNotRecorded(ILogger logger, AttachmentKey key, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "DEL of {ContainerId} before the node serves ({State}): refused so that the runtime retries it")]
    private static partial void LogDelBeforeReady(ILogger logger, string containerId, string state);
}
