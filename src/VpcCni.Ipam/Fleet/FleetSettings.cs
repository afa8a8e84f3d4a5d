using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>What the fleet's pods do.</summary>
internal enum FleetWorkloadKind
{
    /// <summary>Nodes already up (started over the warm-up) go from 0 to <see cref="FleetSettings.Pods"/> pods at once.</summary>
    ScaleUp,

    /// <summary>New nodes start together; each gets <see cref="FleetSettings.PodsPerNode"/> pods as it starts.</summary>
    Join,

    /// <summary>Every node replays <see cref="FleetSettings.Trace"/> from its start (burst: one node, samples/workloads/burst-100.json).</summary>
    Trace,
}

/// <summary>A fleet run's settings (the command line's flags).</summary>
internal sealed record FleetSettings
{
    public required FleetWorkloadKind Workload { get; init; }

    /// <summary>Name shown in the table and chart.</summary>
    public string Title { get; init; } = "fleet";

    public int Nodes { get; init; } = 500;

    /// <summary>Instance types and their weights, e.g. m5.large:3, m5.4xlarge:1 (node i takes the i-th of the repeated pattern).</summary>
    public required IReadOnlyList<(InstanceLimits Limits, int Weight)> InstanceTypes { get; init; }

    /// <summary>Scale-up: pods over the whole fleet.</summary>
    public int Pods { get; init; } = 23_000;

    /// <summary>Join: pods per new node.</summary>
    public int PodsPerNode { get; init; } = 30;

    /// <summary>Trace (and burst): the per-node workload.</summary>
    public WorkloadTrace? Trace { get; init; }

    /// <summary>Scale-up: nodes start spread over the first half of this, pods arrive at its end.</summary>
    public double WarmupSeconds { get; init; } = 600;

    /// <summary>Measured time after the pods start arriving.</summary>
    public double DurationSeconds { get; init; } = 1800;

    public int Seed { get; init; } = 1;

    public FleetLatencies Latencies { get; init; } = new();

    /// <summary>How soon the kubelet retries a pod sandbox whose ADD failed.</summary>
    public TimeSpan PodRetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Scales the account's bucket capacities (1 = AWS's published figures; tests use a tighter account).</summary>
    public double AccountCapacityScale { get; init; } = 1;

    /// <summary>Seconds between the samples of the chart and the idle-address average.</summary>
    public double SampleSeconds { get; init; } = 5;

    /// <summary>Run the whole duration even when every pod runs (by default the run ends 60 s after that, or later).</summary>
    public bool FullDuration { get; init; }

    /// <summary>Tuning of the adaptive budget (null: its defaults).</summary>
    public AdaptiveBudgetOptions? Budget { get; init; }

    /// <summary>The node count each adaptive budget is told (<see cref="AdaptiveBudgetOptions.FleetSize"/>, what the daemon
    /// reads from the Kubernetes API); null: <see cref="Nodes"/>, 1: every node believes it is alone.</summary>
    public int? FleetSizeHint { get; init; }

    /// <summary>The budget options a node runs with: <see cref="Budget"/>, told the fleet's size when the policy paces.</summary>
    internal AdaptiveBudgetOptions NodeBudget(bool paced) => paced
        ? (Budget ?? new AdaptiveBudgetOptions()) with { FleetSize = FleetSizeHint ?? Nodes }
        : Budget ?? new AdaptiveBudgetOptions();
}
