using System.Diagnostics.Metrics;
using VpcCni.Cloud;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The daemon's instruments, named as upstream's Prometheus metrics (awscni_*) so dashboards keep working, plus
/// what users asked for and upstream lacks: cloud call latency histograms and the ADD wait time.
/// </summary>
public sealed class IpamdMetrics : IDisposable
{
    public const string MeterName = "VpcCni.Ipamd";

    /// <summary>
    /// Series (tag combinations) an exporter should keep per instrument. The busiest instrument has 7 operations ×
    /// a handful of error codes; OpenTelemetry's default (2000) preallocates ~250 KB per instrument, ~4 MB in all.
    /// </summary>
    public const int MaxSeriesPerInstrument = 128;

    private PoolController? _controller;
    private ISubnetPrefixCapacitySource? _subnets;

    /// <summary>EC2 calls: tens of milliseconds to tens of seconds (attach waits, throttling back-off).</summary>
    internal static readonly double[] CloudLatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

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
        Startup = Meter.CreateHistogram<double>("awscni_ipamd_startup_duration_seconds", unit: "s", description: "Node initialisation time",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StartupBuckets });
        Meter.CreateObservableGauge("awscni_eni_allocated", () => Stat(c => c.Datastore.EniCount), description: "ENIs in the datastore");
        Meter.CreateObservableGauge("awscni_total_ip_addresses", () => Stat(c => c.Datastore.GetStats().TotalIPs), description: "Addresses in the pool");
        Meter.CreateObservableGauge("awscni_assigned_ip_addresses", () => Stat(c => c.Datastore.GetStats().AssignedIPs), description: "Addresses assigned to pods");
        Meter.CreateObservableGauge("awscni_total_ipv4_prefixes", () => Stat(c => c.Datastore.GetStats().TotalPrefixes), description: "/28 prefixes in the pool");
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

    /// <summary>The pool the gauges read (set once the node is built).</summary>
    public void Observe(PoolController controller) => _controller = controller;

    /// <summary>The provider's view of the eligible subnets' /28 room (for the per-subnet gauge and introspection).</summary>
    public void ObserveSubnets(ISubnetPrefixCapacitySource? subnets) => _subnets = subnets;

    /// <summary>The eligible subnets' /28 room as the provider last saw it; empty when it cannot tell.</summary>
    public IReadOnlyList<SubnetPrefixCapacity> SubnetPrefixCapacity() => _subnets?.GetSubnetPrefixCapacity() ?? [];

    public void RecordStartup(TimeSpan elapsed, bool success) =>
        Startup.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("success", success ? "true" : "false"));

    public void Dispose() => Meter.Dispose();

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
internal sealed class MeteredEniProvider(IEniProvider inner, IpamdMetrics metrics, TimeProvider time) : IEniProvider
{
    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) =>
        MeasureAsync("GetInstance", () => inner.GetInstanceAsync(cancellationToken));

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        MeasureAsync("GetInstanceLimits", () => inner.GetInstanceLimitsAsync(instanceType, cancellationToken));

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) =>
        MeasureAsync("DescribeNetworkInterfaces", () => inner.DescribeInstanceEnisAsync(cancellationToken));

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

    private async ValueTask<T> MeasureAsync<T>(string operation, Func<ValueTask<T>> call)
    {
        var started = time.GetTimestamp();
        var fn = new KeyValuePair<string, object?>("fn", operation);
        metrics.CloudRequests.Add(1, fn);
        try
        {
            var result = await call().ConfigureAwait(false);
            metrics.CloudLatency.Record(time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("api", operation), new KeyValuePair<string, object?>("error", "false"));
            return result;
        }
        catch (CloudException ex)
        {
            metrics.CloudErrors.Add(1, fn);
            metrics.CloudLatency.Record(time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("api", operation), new KeyValuePair<string, object?>("error", ex.ErrorCode ?? ex.Kind.ToString()));
            throw;
        }
    }
}

internal static class ValueTaskExtensions
{
    public static async ValueTask AsValueTaskVoid(this ValueTask<bool> task) => await task.ConfigureAwait(false);
}
