using System.Text.Json.Serialization;

namespace VpcCni.Ipam.Fleet;

/// <summary>One policy's figures (the JSON contract of `vpc-cni-ipamd fleet --json`).</summary>
/// <param name="Policy">The policy's name.</param>
/// <param name="PodsPerMinute">Pods that got an address, per minute from the first pod's arrival to the last pod's start.</param>
/// <param name="AllRunningSeconds">From the first pod's arrival until every pod had an address (the run's duration if some never did).</param>
/// <param name="PodWaitP50Seconds">Median wait of a pod for its address (a pod that never got one counts its wait until the end).</param>
/// <param name="PodWaitP99Seconds">99th percentile of the same.</param>
/// <param name="Ec2Calls">EC2 requests the account answered in the measured time (every attempt).</param>
/// <param name="ThrottledCalls">Of those, RequestLimitExceeded answers.</param>
/// <param name="AvgIdleIps">Idle addresses (on the node, not assigned to a pod) per node, averaged over the measured time.</param>
/// <param name="FirstAddressSeconds">Median over the nodes started in the run: from daemon start to its first assignable address.</param>
internal sealed record FleetResult(
    string Policy,
    double PodsPerMinute,
    double AllRunningSeconds,
    double PodWaitP50Seconds,
    double PodWaitP99Seconds,
    long Ec2Calls,
    long ThrottledCalls,
    double AvgIdleIps,
    double FirstAddressSeconds);

/// <summary>`--json`: <c>{"results":[...]}</c>.</summary>
internal sealed record FleetResults(IReadOnlyList<FleetResult> Results);

/// <summary>One point of the chart.</summary>
/// <param name="T">Seconds since the pods started arriving.</param>
/// <param name="PodsRunning">Pods with an address.</param>
/// <param name="ThrottledPerSecond">RequestLimitExceeded answers per second over the sample.</param>
internal sealed record FleetSample(double T, int PodsRunning, double ThrottledPerSecond);

/// <summary>Everything one policy's run produced: the figures, the chart's samples and counts for the table.</summary>
internal sealed record FleetRun(FleetResult Result, IReadOnlyList<FleetSample> Samples, int PodsTotal, int PodsStarted, long WarmupThrottledCalls, long Events);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FleetResults))]
internal sealed partial class FleetJsonContext : JsonSerializerContext;
