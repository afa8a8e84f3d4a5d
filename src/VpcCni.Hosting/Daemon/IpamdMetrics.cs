using System.Diagnostics.Metrics;
using System.Net;
using System.Runtime.InteropServices;
using VpcCni.Cloud;
using VpcCni.Hosting.Plugin;
using VpcCni.Ipam;
using VpcCni.Linux.Snat;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The daemon's instruments: every Prometheus metric of upstream's aws-node (awscni_*, same names, types where the
/// exporter can, and label names; docs/metrics.md), plus what users asked for and upstream lacks (vpccni_*): cloud
/// call latency histograms in seconds, the ADD wait time, prefix fallback and subnet room.
/// </summary>
public sealed class IpamdMetrics : IDisposable
{
    public const string MeterName = "VpcCni.Ipamd";

    /// <summary>
    /// Series (tag combinations) an exporter should keep per instrument. The busiest instrument has 7 operations ×
    /// a handful of error codes; OpenTelemetry's default (2000) preallocates ~250 KB per instrument, ~4 MB in all.
    /// </summary>
    public const int MaxSeriesPerInstrument = 128;

    /// <summary>Series of <c>awscni_assigned_ip_per_cidr</c>: one per CIDR of the pool, at most 15 ENIs × 50 slots.</summary>
    internal const int MaxCidrSeries = 1024;

    /// <summary>Series an exporter should keep for the named instrument: <see cref="MaxSeriesPerInstrument"/>, more for the per-CIDR gauge.</summary>
    public static int SeriesLimit(string instrumentName) => instrumentName == AssignedPerCidrName ? MaxCidrSeries : MaxSeriesPerInstrument;

    /// <summary>The instrument with one series per pool CIDR.</summary>
    internal const string AssignedPerCidrName = "awscni_assigned_ip_per_cidr";

    private PoolController? _controller;
    private ISubnetPrefixCapacitySource? _subnets;
    private INodeNetwork? _network;

    /// <summary>EC2 calls: tens of milliseconds to tens of seconds (attach waits, throttling back-off).</summary>
    internal static readonly double[] CloudLatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>The same in milliseconds, for upstream's <c>awscni_aws_api_latency_ms</c>.</summary>
    internal static readonly double[] CloudLatencyMillisecondBuckets = [.. CloudLatencyBuckets.Select(b => b * 1000)];

    /// <summary>Assign waits: sub-millisecond from a warm pool up to the assign-wait limit (default 3 s).</summary>
    internal static readonly double[] AssignWaitBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Node start: a second to minutes.</summary>
    internal static readonly double[] StartupBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    public IpamdMetrics(IMeterFactory? meterFactory = null)
    {
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        AddRequests = Meter.CreateCounter<long>("awscni_add_ip_req_count", description: "AddNetwork calls");
        DelRequests = Meter.CreateCounter<long>("awscni_del_ip_req_count", description: "DelNetwork calls by reason");
        NoAvailableAddresses = Meter.CreateCounter<long>("awscni_no_available_ip_addresses", description: "ADDs that got no address");
        CloudRequests = Meter.CreateCounter<long>("awscni_ec2api_req_count", description: "Cloud calls by operation");
        CloudErrors = Meter.CreateCounter<long>("awscni_ec2api_error_count", description: "Failed cloud calls by operation");
        HostVethRemovals = Meter.CreateCounter<long>("vpccni_host_veth_removals", description: "Pod host veths the plugin handed to the daemon on DEL, by outcome (removed, already_gone, refused)");
        // Buckets in seconds: exporters' defaults (0, 5, 10, 25, ... meant for milliseconds) would put nearly every
        // value in the first bucket.
        CloudLatency = Meter.CreateHistogram<double>("vpccni_cloud_call_duration_seconds", unit: "s", description: "Cloud call latency by operation and outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CloudLatencyBuckets });
        AssignWait = Meter.CreateHistogram<double>("vpccni_assign_wait_seconds", unit: "s", description: "Time an AddNetwork spent getting an address (pool wait included)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AssignWaitBuckets });
        Startup = Meter.CreateHistogram<double>("awscni_ipamd_startup_duration_seconds", unit: "s", description: "Time from the daemon's start until it serves ADDs",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StartupBuckets });
        NodeInitialization = Meter.CreateHistogram<double>("awscni_ipamd_node_initialization_duration_seconds", unit: "s",
            description: "Pool initialisation time (limits, the cloud's ENIs, the restore, the first sizing)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StartupBuckets });
        // Upstream's is a summary in milliseconds without quantiles (only _sum and _count): the closest the exporter
        // offers is a histogram, whose _sum and _count are the same series (docs/upstream-differences.md M1).
        AwsApiLatency = Meter.CreateHistogram<double>("awscni_aws_api_latency_ms", description: "Cloud call latency in milliseconds by operation, error and status",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CloudLatencyMillisecondBuckets });
        Meter.CreateObservableCounter("awscni_aws_api_error_count", AwsApiErrors.Observe, description: "Failed cloud calls by operation and error code");
        Meter.CreateObservableCounter("awscni_aws_utils_error_count", AwsUtilsErrors.Observe, description: "Failed cloud helper steps by function and error code");
        Meter.CreateObservableCounter("awscni_ipamd_error_count", IpamdErrors.Observe, description: "Failed pool steps by function");
        Meter.CreateObservableGauge("awscni_ipamd_action_inprogress", ActionsInProgress.Observe, description: "Pool activities running now, by function");
        Meter.CreateObservableCounter("awscni_reconcile_count", ReconcileChanges.Observe, description: "Changes a reconcile with the cloud made, by function");
        Meter.CreateObservableCounter("awscni_pod_eni_error_count", PodEniErrors.Observe, description: "Security-groups-for-pods errors (not implemented: always 0)");
        Meter.CreateObservableCounter("awscni_force_removed_enis", ForceRemovedEnis.Observe, description: "ENIs removed because the cloud no longer lists them");
        Meter.CreateObservableCounter("awscni_force_removed_ips", ForceRemovedIps.Observe, description: "Assigned addresses removed with a CIDR or ENI the cloud no longer lists");
        Meter.CreateObservableCounter("awscni_connmark_reconcile_total", ConnmarkReconciles, description: "SNAT/connmark rule reconciles by result");
        Meter.CreateObservableGauge("awscni_connmark_backend", ConnmarkBackends, description: "1 for the connmark backend in use (0 for both when the daemon manages no host network)");
        Meter.CreateObservableGauge("awscni_build_info", BuildInfo, description: "Build version and .NET runtime version (upstream: Go version); always 1");
        Meter.CreateObservableGauge("awscni_eni_allocated", () => Stat(c => c.Datastore.EniCount), description: "ENIs in the datastore");
        Meter.CreateObservableGauge("awscni_total_ip_addresses", () => Stat(c => c.Datastore.GetStats().TotalIPs), description: "Addresses in the pool");
        Meter.CreateObservableGauge("awscni_assigned_ip_addresses", () => Stat(c => c.Datastore.GetStats().AssignedIPs), description: "Addresses assigned to pods");
        Meter.CreateObservableGauge("awscni_total_ipv4_prefixes", () => Stat(c => c.Datastore.GetStats().TotalPrefixes), description: "/28 prefixes in the pool");
        Meter.CreateObservableGauge("awscni_assigned_ip_per_eni", AssignedPerEni, description: "Addresses assigned to pods, per ENI");
        Meter.CreateObservableGauge(AssignedPerCidrName, AssignedPerCidr, description: "Addresses assigned to pods, per /32 address or /28 prefix of the pool");
        Meter.CreateObservableGauge("awscni_eni_max", () => Stat(c => c.Limits.MaxEnis), description: "ENIs the node may use");
        Meter.CreateObservableGauge("awscni_ip_max", () => Stat(c => c.Limits.MaxEnis * (c.Limits.IPv4PerEni - 1)), description: "Addresses the node may hold");
        Meter.CreateObservableGauge("vpccni_cooling_ip_addresses", () => Stat(c => c.Datastore.GetStats().CoolingIPs), description: "Released addresses still cooling down");
        Meter.CreateObservableGauge("vpccni_waiting_assignments", () => Stat(c => c.WaitingAssignments), description: "ADDs waiting for the pool to grow");
        Meter.CreateObservableGauge("vpccni_prefix_fallback_enis", () => Stat(c => c.PrefixFallback.EnisInFallback),
            description: "ENIs growing with /32 addresses because their subnet had no free /28 (InsufficientCidrBlocks)");
        Meter.CreateObservableCounter("vpccni_prefix_fallbacks_total", () => Stat(c => c.PrefixFallback.Fallbacks),
            description: "Times an ENI fell back from /28 prefixes to /32 addresses");
        Meter.CreateObservableCounter("vpccni_prefix_fallback_returns_total", () => Stat(c => c.PrefixFallback.Returns),
            description: "Times an ENI got a /28 prefix again and returned to prefixes");
        Meter.CreateObservableGauge("vpccni_subnet_free_prefix_blocks", SubnetFreeBlocks,
            description: "Free aligned /28 blocks of each eligible subnet, where the cloud reports them (the emulator does, EC2 does not)");

        // Series that exist from the first scrape at 0, so rate() and "no errors" panels work before anything happens.
        foreach (var failure in Enum.GetValues<PoolFailure>())
        {
            IpamdErrors.Touch(UpstreamNames.Of(failure));
        }

        foreach (var activity in Enum.GetValues<PoolActivity>())
        {
            ActionsInProgress.Touch(UpstreamNames.Of(activity));
        }

        foreach (var change in Enum.GetValues<PoolReconcileChange>())
        {
            ReconcileChanges.Touch(UpstreamNames.Of(change));
        }

        // Security groups for pods is not implemented: these never count, and say so with 0.
        PodEniErrors.Touch("nodeInit");
        PodEniErrors.Touch("tryEnableSecurityGroupsForPods");
        ForceRemovedEnis.Touch();
        ForceRemovedIps.Touch();
    }

    public Meter Meter { get; }

    public Counter<long> AddRequests { get; }

    public Counter<long> DelRequests { get; }

    public Counter<long> NoAvailableAddresses { get; }

    public Counter<long> CloudRequests { get; }

    public Counter<long> CloudErrors { get; }

    public Counter<long> HostVethRemovals { get; }

    public Histogram<double> CloudLatency { get; }

    public Histogram<double> AssignWait { get; }

    public Histogram<double> Startup { get; }

    internal Histogram<double> NodeInitialization { get; }

    internal Histogram<double> AwsApiLatency { get; }

    internal LabeledCounts AwsApiErrors { get; } = new("api", "error");

    internal LabeledCounts AwsUtilsErrors { get; } = new("fn", "error");

    internal LabeledCounts IpamdErrors { get; } = new("fn");

    internal LabeledCounts ActionsInProgress { get; } = new("fn");

    internal LabeledCounts ReconcileChanges { get; } = new("fn");

    internal LabeledCounts PodEniErrors { get; } = new("fn");

    internal LabeledCounts ForceRemovedEnis { get; } = new();

    internal LabeledCounts ForceRemovedIps { get; } = new();

    /// <summary>The pool the gauges read (set once the node is built).</summary>
    public void Observe(PoolController controller) => _controller = controller;

    /// <summary>The host network whose SNAT/connmark reconciles the connmark metrics report.</summary>
    internal void ObserveNetwork(INodeNetwork? network) => _network = network;

    /// <summary>The provider's view of the eligible subnets' /28 room (for the per-subnet gauge and introspection).</summary>
    public void ObserveSubnets(ISubnetPrefixCapacitySource? subnets) => _subnets = subnets;

    /// <summary>The eligible subnets' /28 room as the provider last saw it; empty when it cannot tell.</summary>
    public IReadOnlyList<SubnetPrefixCapacity> SubnetPrefixCapacity() => _subnets?.GetSubnetPrefixCapacity() ?? [];

    public void RecordStartup(TimeSpan elapsed, bool success) => RecordStartup(elapsed, success, withApiServer: false);

    /// <summary>Upstream's labels: whether the daemon used the Kubernetes API server, and why a start failed.</summary>
    internal void RecordStartup(TimeSpan elapsed, bool success, bool withApiServer) =>
        Startup.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("success", success ? "true" : "false"),
            new KeyValuePair<string, object?>("with_api_server", withApiServer ? "true" : "false"),
            new KeyValuePair<string, object?>("failure_reason", success ? "" : "node_initialization"));

    /// <summary>
    /// Creates upstream's label-less counters (and the error series of each cloud operation) at 0. Call once an exporter
    /// listens: a <see cref="Counter{T}"/> drops what is recorded before.
    /// </summary>
    internal void CreateInitialSeries()
    {
        AddRequests.Add(0);
        NoAvailableAddresses.Add(0);
        foreach (var operation in MeteredEniProvider.Operations)
        {
            CloudErrors.Add(0, new KeyValuePair<string, object?>("fn", operation));
        }
    }

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<long>> ConnmarkReconciles()
    {
        var (succeeded, failed) = _network is LinuxNodeNetwork linux ? linux.SnatReconciles : (0, 0);
        return [new(succeeded, new KeyValuePair<string, object?>("result", "success")), new(failed, new KeyValuePair<string, object?>("result", "error"))];
    }

    private IEnumerable<Measurement<int>> ConnmarkBackends()
    {
        var active = (_network as LinuxNodeNetwork)?.ActiveBackend;
        return [new(active == ConnmarkBackend.Iptables ? 1 : 0, new KeyValuePair<string, object?>("backend", "iptables")),
            new(active == ConnmarkBackend.Nftables ? 1 : 0, new KeyValuePair<string, object?>("backend", "nftables"))];
    }

    private static IEnumerable<Measurement<int>> BuildInfo() =>
        [new(1, new KeyValuePair<string, object?>("version", VpcCniPluginProgram.Version), new KeyValuePair<string, object?>("goversion", RuntimeInformation.FrameworkDescription))];

    private IEnumerable<Measurement<int>> AssignedPerEni()
    {
        var controller = _controller;
        try
        {
            return controller is null ? [] : [.. controller.Datastore.GetEniStates().Select(e => new Measurement<int>(e.Assigned, new KeyValuePair<string, object?>("eni", e.Id)))];
        }
        catch (InvalidOperationException)
        {
            return [];
        }
    }

    /// <summary>Every CIDR of the pool with its assigned addresses (upstream shows only CIDRs that were ever used).</summary>
    private IEnumerable<Measurement<int>> AssignedPerCidr()
    {
        var controller = _controller;
        if (controller is null)
        {
            return [];
        }

        try
        {
            var ds = controller.Datastore;
            var counts = new Dictionary<IPNetwork, int>();
            foreach (var eni in ds.GetEniIds())
            {
                foreach (var cidr in ds.GetCidrs(eni))
                {
                    counts[cidr] = 0;
                }
            }

            foreach (var allocation in ds.GetAllocations())
            {
                var address = allocation.Address;
                var single = new IPNetwork(address.ToIPAddress(), 32);
                var prefix = new IPNetwork(new PodAddress(address.Value & 0xFFFFFFF0u).ToIPAddress(), 28);
                if (counts.TryGetValue(single, out var n))
                {
                    counts[single] = n + 1;
                }
                else if (counts.TryGetValue(prefix, out n))
                {
                    counts[prefix] = n + 1;
                }
            }

            return [.. counts.Select(c => new Measurement<int>(c.Value, new KeyValuePair<string, object?>("cidr", c.Key.ToString())))];
        }
        catch (InvalidOperationException)
        {
            // Not initialised yet, or an ENI left between the reads.
            return [];
        }
    }

    private IEnumerable<Measurement<int>> SubnetFreeBlocks() =>
        [.. SubnetPrefixCapacity().Where(s => s.FreePrefixBlocks is not null)
            .Select(s => new Measurement<int>(s.FreePrefixBlocks!.Value, new KeyValuePair<string, object?>("subnet", s.SubnetId)))];

    private IEnumerable<Measurement<T>> Stat<T>(Func<PoolController, T> read)
        where T : struct
    {
        var controller = _controller;
        if (controller is null)
        {
            return [];
        }

        try
        {
            return [new Measurement<T>(read(controller))];
        }
        catch (InvalidOperationException)
        {
            // Not initialised yet.
            return [];
        }
    }
}

/// <summary>Counts and times every call of the cloud port.</summary>
internal sealed class MeteredEniProvider(IEniProvider inner, IpamdMetrics metrics, TimeProvider time) : IEniProvider, IInstanceEniMetadata
{
    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) =>
        MeasureAsync("GetInstance", () => inner.GetInstanceAsync(cancellationToken));

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        MeasureAsync("GetInstanceLimits", () => inner.GetInstanceLimitsAsync(instanceType, cancellationToken));

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) =>
        MeasureAsync("DescribeNetworkInterfaces", () => inner.DescribeInstanceEnisAsync(cancellationToken));

    // Instance metadata is not an EC2 API call: not metered, passed through.
    public ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken) =>
        inner is IInstanceEniMetadata metadata ? metadata.ReadAttachedEnisAsync(cancellationToken) : ValueTask.FromResult<IReadOnlyList<NetworkInterface>?>(null);

    public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) =>
        MeasureAsync("CreateAndAttachNetworkInterface", () => inner.CreateAndAttachEniAsync(request, cancellationToken));

    public ValueTask<IReadOnlyList<System.Net.IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) =>
        MeasureAsync("AssignPrivateIpAddresses", () => inner.AssignAsync(eniId, unit, count, cancellationToken));

    public ValueTask UnassignAsync(string eniId, IReadOnlyList<System.Net.IPNetwork> cidrs, CancellationToken cancellationToken) =>
        MeasureAsync("UnassignPrivateIpAddresses", async () =>
        {
            await inner.UnassignAsync(eniId, cidrs, cancellationToken).ConfigureAwait(false);
            return true;
        }).AsValueTaskVoid();

    public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) =>
        MeasureAsync("DetachAndDeleteNetworkInterface", async () =>
        {
            await inner.DetachAndDeleteEniAsync(eniId, cancellationToken).ConfigureAwait(false);
            return true;
        }).AsValueTaskVoid();

    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) =>
        MeasureAsync("CreateTags", async () =>
        {
            await inner.EnsureEniTagsAsync(eni, cancellationToken).ConfigureAwait(false);
            return true;
        }).AsValueTaskVoid();

    /// <summary>The operation names the metrics use (the <c>fn</c> and <c>api</c> labels).</summary>
    internal static readonly string[] Operations =
    [
        "GetInstance", "GetInstanceLimits", "DescribeNetworkInterfaces", "CreateAndAttachNetworkInterface", "AssignPrivateIpAddresses",
        "UnassignPrivateIpAddresses", "DetachAndDeleteNetworkInterface", "CreateTags",
    ];

    private async ValueTask<T> MeasureAsync<T>(string operation, Func<ValueTask<T>> call)
    {
        var started = time.GetTimestamp();
        var fn = new KeyValuePair<string, object?>("fn", operation);
        var api = new KeyValuePair<string, object?>("api", operation);
        metrics.CloudRequests.Add(1, fn);
        try
        {
            var result = await call().ConfigureAwait(false);
            var elapsed = time.GetElapsedTime(started);
            metrics.CloudLatency.Record(elapsed.TotalSeconds, api, new KeyValuePair<string, object?>("error", "false"));
            metrics.AwsApiLatency.Record(elapsed.TotalMilliseconds, api, new KeyValuePair<string, object?>("error", "false"), new KeyValuePair<string, object?>("status", "200"));
            return result;
        }
        catch (CloudException ex)
        {
            var elapsed = time.GetElapsedTime(started);
            var code = ex.ErrorCode ?? ex.Kind.ToString();
            metrics.CloudErrors.Add(1, fn);
            metrics.CloudLatency.Record(elapsed.TotalSeconds, api, new KeyValuePair<string, object?>("error", code));
            metrics.AwsApiLatency.Record(elapsed.TotalMilliseconds, api, new KeyValuePair<string, object?>("error", "true"), new KeyValuePair<string, object?>("status", code));
            metrics.AwsApiErrors.Add(1, operation, code);
            if (operation == "DetachAndDeleteNetworkInterface")
            {
                // Upstream's freeENI: the unused ENI could not be deleted.
                metrics.AwsUtilsErrors.Add(1, "FreeENIDeleteErr", code);
            }

            throw;
        }
    }
}

internal static class ValueTaskExtensions
{
    public static async ValueTask AsValueTaskVoid(this ValueTask<bool> task) => await task.ConfigureAwait(false);
}
