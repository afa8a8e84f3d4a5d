using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// A pod arrival/departure trace. JSON:
/// <code>
/// {"name":"100-pod burst","durationSeconds":600,
///  "events":[{"at":0,"add":10},{"at":60,"add":100},{"at":400,"delete":50}]}
/// </code>
/// <c>at</c> is seconds from the start; <c>add</c> creates that many pods (each an ADD); <c>delete</c> removes that many
/// of the oldest pods still present (a DEL, or dropping the ADD if it is still waiting). The replay runs until
/// <c>durationSeconds</c> (default: last event + 300 s).
/// </summary>
public sealed record WorkloadTrace
{
    public string Name { get; init; } = "trace";

    public string? Description { get; init; }

    public double? DurationSeconds { get; init; }

    public IReadOnlyList<WorkloadEvent> Events { get; init; } = [];

    /// <summary>Parses and validates a trace; errors name the event and field.</summary>
    public static WorkloadTrace Parse(string json)
    {
        WorkloadTrace? trace;
        try
        {
            trace = JsonSerializer.Deserialize(json, PlanningJsonContext.Default.WorkloadTrace);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"workload trace is not valid JSON: {ex.Message}", ex);
        }

        if (trace is null)
        {
            throw new FormatException("workload trace is empty.");
        }

        for (var i = 0; i < trace.Events.Count; i++)
        {
            var e = trace.Events[i];
            if (e.At < 0 || double.IsNaN(e.At) || e.Add < 0 || e.Delete < 0)
            {
                throw new FormatException($"workload trace event {i}: 'at', 'add' and 'delete' must be 0 or more.");
            }
        }

        if (trace.DurationSeconds is < 0)
        {
            throw new FormatException("workload trace: 'durationSeconds' must be 0 or more.");
        }

        return trace;
    }

    internal double EffectiveDuration => DurationSeconds ?? (Events.Count == 0 ? 300 : Events.Max(e => e.At) + 300);
}

/// <summary>One step of a trace.</summary>
public sealed record WorkloadEvent(double At, int Add = 0, int Delete = 0);

/// <summary>Settings of a replay.</summary>
public sealed record SimulationSettings(InstanceLimits Limits)
{
    /// <summary>Cloud latencies (defaults: typical EC2).</summary>
    public CloudLatencies Latencies { get; init; } = new();

    /// <summary>How soon the runtime retries an ADD that failed (kubelet re-creates the sandbox).</summary>
    public TimeSpan PodRetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Granularity of arrivals, retries and samples.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The cloud to run against (default: <see cref="InMemoryPlanningCloud"/> with the limits), wrapped in the latencies.</summary>
    public Func<InstanceLimits, IEniProvider>? CloudFactory { get; init; }
}

/// <summary>One sample of the pool over time.</summary>
public sealed record SimulationSample(double T, int PoolSize, int Idle, int Waiting);

/// <summary>What one policy cost on a trace.</summary>
public sealed record SimulationReport(
    string Policy,
    long Ec2MutatingCalls,
    long Ec2DescribeCalls,
    int PeakIdle,
    double AverageIdle,
    double WaitP50Seconds,
    double WaitP99Seconds,
    double WaitMaxSeconds,
    int PodsStarted,
    int PodsNeverStarted,
    IReadOnlyList<SimulationSample> Samples)
{
    public string ToJson() => JsonSerializer.Serialize(this, PlanningJsonContext.Default.SimulationReport);
}

/// <summary>
/// Replays a workload trace against the real <see cref="PoolController"/> on a <see cref="VirtualClock"/>, with
/// per-call cloud latencies, and reports EC2 calls, idle addresses and pod waiting per policy.
/// </summary>
public static class WorkloadSimulator
{
    /// <summary>Runs the trace once per named policy configuration.</summary>
    public static IReadOnlyList<SimulationReport> Run(WorkloadTrace trace, SimulationSettings settings, IReadOnlyList<(string Name, IpamOptions Options)> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        return [.. policies.Select(p => Run(trace, settings, p.Name, p.Options))];
    }

    /// <summary>Runs the trace with one configuration.</summary>
    public static SimulationReport Run(WorkloadTrace trace, SimulationSettings settings, string policyName, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var clock = new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var inner = settings.CloudFactory?.Invoke(settings.Limits) ?? new InMemoryPlanningCloud(settings.Limits);
        var cloud = new LatencyEniProvider(inner, clock, settings.Latencies);
        using var controller = new PoolController(cloud, options, clock, null, null, null, 0, inlineSignals: true);
        var init = controller.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 600 && !init.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        init.GetAwaiter().GetResult();
        var callsAtStart = cloud.MutatingCalls;
        var describesAtStart = cloud.DescribeCalls;
        using var loopCancel = new CancellationTokenSource();
        var loop = controller.RunAsync(loopCancel.Token);

        var start = clock.GetUtcNow();
        var events = trace.Events.OrderBy(e => e.At).ToList();
        var nextEvent = 0;
        var pods = new List<SimPod>();
        var samples = new List<SimulationSample>();
        var waits = new List<double>();
        var idleSum = 0.0;
        var peakIdle = 0;
        var sampleCount = 0;
        var nextSample = 0.0;
        var duration = trace.EffectiveDuration;
        var podSeq = 0;
        for (var t = 0.0; t <= duration; t += settings.Step.TotalSeconds)
        {
            while (nextEvent < events.Count && events[nextEvent].At <= t)
            {
                var e = events[nextEvent++];
                for (var i = 0; i < e.Add; i++)
                {
                    var pod = new SimPod(new AttachmentKey("sim", $"pod-{podSeq++}", "eth0"), t);
                    pods.Add(pod);
                    StartAdd(controller, pod, t, clock, start);
                }

                var toDelete = e.Delete;
                foreach (var pod in pods)
                {
                    if (toDelete == 0)
                    {
                        break;
                    }

                    if (!pod.Deleted)
                    {
                        pod.Deleted = true;
                        toDelete--;
                        if (pod.Started)
                        {
                            _ = controller.UnassignAsync(pod.Key, CancellationToken.None).AsTask();
                        }
                    }
                }
            }

            foreach (var pod in pods)
            {
                if (pod.Pending is { IsCompleted: true } task)
                {
                    pod.Pending = null;
                    var result = task.GetAwaiter().GetResult();
                    if (result.Succeeded)
                    {
                        pod.Started = true;
                        if (pod.Deleted)
                        {
                            _ = controller.UnassignAsync(pod.Key, CancellationToken.None).AsTask();
                        }
                        else
                        {
                            waits.Add(Math.Max(0, (pod.CompletedAt ?? t) - pod.Arrival));
                        }
                    }
                    else
                    {
                        pod.RetryAt = t + settings.PodRetryInterval.TotalSeconds;
                    }
                }

                if (!pod.Started && !pod.Deleted && pod.Pending is null && pod.RetryAt <= t)
                {
                    StartAdd(controller, pod, t, clock, start);
                }
            }

            if (t >= nextSample)
            {
                var stats = controller.Datastore.GetStats();
                var idle = stats.TotalIPs - stats.AssignedIPs;
                var waiting = pods.Count(p => !p.Started && !p.Deleted);
                samples.Add(new SimulationSample(Math.Round(t, 3), stats.TotalIPs, idle, waiting));
                idleSum += idle;
                sampleCount++;
                peakIdle = Math.Max(peakIdle, idle);
                nextSample += 1.0;
            }

            clock.Advance(settings.Step);
        }

        loopCancel.Cancel();
        clock.Advance(TimeSpan.FromMinutes(5));
        if (!loop.IsCompleted)
        {
            throw new InvalidOperationException("the pool loop did not stop on the virtual clock");
        }

        waits.Sort();
        return new SimulationReport(
            policyName,
            cloud.MutatingCalls - callsAtStart,
            cloud.DescribeCalls - describesAtStart,
            peakIdle,
            sampleCount == 0 ? 0 : Math.Round(idleSum / sampleCount, 2),
            Percentile(waits, 0.50),
            Percentile(waits, 0.99),
            waits.Count == 0 ? 0 : Math.Round(waits[^1], 3),
            waits.Count,
            pods.Count(p => !p.Started && !p.Deleted),
            samples);
    }

    /// <summary>Formats reports as an aligned text table.</summary>
    public static string FormatTable(IReadOnlyList<SimulationReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"policy",-28} {"EC2 calls",9} {"peak idle",9} {"avg idle",9} {"wait p50",9} {"wait p99",9} {"wait max",9} {"never",6}");
        foreach (var r in reports)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Policy,-28} {r.Ec2MutatingCalls,9} {r.PeakIdle,9} {r.AverageIdle,9:0.0} {r.WaitP50Seconds,8:0.00}s {r.WaitP99Seconds,8:0.00}s {r.WaitMaxSeconds,8:0.00}s {r.PodsNeverStarted,6}");
        }

        return sb.ToString();
    }

    private static void StartAdd(PoolController controller, SimPod pod, double t, VirtualClock clock, DateTimeOffset start)
    {
        pod.RetryAt = double.MaxValue;
        var task = controller.AssignAsync(pod.Key, PodMetadata.None, CancellationToken.None).AsTask();
        pod.Pending = task;
        pod.LastStart = t;
        // Note the exact virtual completion time (the loop only looks every step).
        _ = task.ContinueWith(_ => pod.CompletedAt = (clock.GetUtcNow() - start).TotalSeconds, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var index = (int)Math.Ceiling(p * sorted.Count) - 1;
        return Math.Round(sorted[Math.Clamp(index, 0, sorted.Count - 1)], 3);
    }

    private sealed class SimPod(AttachmentKey key, double arrival)
    {
        public AttachmentKey Key { get; } = key;

        public double Arrival { get; } = arrival;

        public Task<AssignResult>? Pending { get; set; }

        public double RetryAt { get; set; } = double.MaxValue;

        public double LastStart { get; set; }

        public bool Started { get; set; }

        public bool Deleted { get; set; }

        public double? CompletedAt { get; set; }
    }
}
