namespace VpcCni.Ipam.Fleet;

/// <summary>How a fleet node talks to EC2.</summary>
internal enum FleetClientKind
{
    /// <summary>Upstream: no client-side limit; the AWS SDK's standard retryer (<see cref="SdkStandardRetryClient"/>).</summary>
    SdkStandardRetries,

    /// <summary>VpcCni: the node-local adaptive budget (<see cref="Cloud.AdaptiveRequestBudget"/>).</summary>
    AdaptiveBudget,
}

/// <summary>
/// A named policy of the fleet run: the engine settings every node's real <see cref="PoolController"/> runs with, the pool
/// policy (null: the one the options name) and the EC2 client behaviour. The factories are called once per node.
/// </summary>
/// <param name="Name">Shown in the table and the JSON.</param>
/// <param name="Options">A fresh, valid <see cref="IpamOptions"/> per node.</param>
/// <param name="Client">How the node sends its EC2 requests.</param>
internal sealed record FleetPolicy(string Name, Func<IpamOptions> Options, FleetClientKind Client)
{
    /// <summary>The pool policy per node; null lets the controller pick the one the options name. This is the seam for
    /// upstream's timing mode (5 s loop, one ENI per cycle): set it, or the options that select it, here.</summary>
    public Func<IPoolPolicy?>? PoolPolicy { get; init; }

    /// <summary>After the start's DescribeNetworkInterfaces, the node reads its ENIs from IMDS (no EC2 request), as upstream's
    /// reconcile does; false: every reconcile asks EC2, as VpcCni's EC2 provider does.</summary>
    public bool ReconcileFromImds { get; init; }

    /// <summary>The node's budget is told the fleet's size (VPC_CNI_EC2_FLEET_SIZE) and paces (docs/ec2-budget.md).</summary>
    public bool Paced { get; init; }

    /// <summary>The node's budget knows its place in the fleet, as the daemon reads it from the API server's node list
    /// (VPC_CNI_EC2_FLEET_SCHEDULE, on by default): rank by start, size = the nodes started so far.</summary>
    public bool Scheduled { get; init; }

    /// <summary>
    /// Upstream's behaviour: <see cref="SimulationPolicies.Upstream"/> (the 5 s pool loop not woken by ADDs, one ENI per
    /// cycle, WARM_ENI_TARGET=1, an ADD that finds the pool empty fails at once and the kubelet retries), IMDS reconcile,
    /// and the SDK's standard retries without a client-side budget.
    /// </summary>
    public static FleetPolicy Upstream { get; } = new(
        SimulationPolicies.UpstreamName, () => SimulationPolicies.Upstream().Options, FleetClientKind.SdkStandardRetries)
    {
        ReconcileFromImds = true,
    };

    /// <summary>VpcCni's daemon defaults (<see cref="IpamOptions"/> as constructed) with the adaptive EC2 budget.</summary>
    public static FleetPolicy VpcCni { get; } = new(SimulationPolicies.VpcCniName, () => new IpamOptions(), FleetClientKind.AdaptiveBudget) { Scheduled = true };

    /// <summary>The event-driven controller with upstream's warm-target policy and the adaptive budget (the daemon's
    /// previous default), for comparison.</summary>
    public static FleetPolicy EventDriven { get; } = new(
        SimulationPolicies.EventDrivenName, () => Named(SimulationPolicies.EventDrivenName), FleetClientKind.AdaptiveBudget) { Scheduled = true };

    /// <summary>The event-driven controller with the burst policy and the adaptive budget.</summary>
    public static FleetPolicy Burst { get; } = new("burst", () => SimulationPolicies.VpcCni().Options, FleetClientKind.AdaptiveBudget) { Scheduled = true };

    /// <summary>VpcCni's defaults without the fleet schedule (VPC_CNI_EC2_FLEET_SCHEDULE=false): the adaptive budget alone.</summary>
    public static FleetPolicy Adaptive { get; } = new("adaptive", () => new IpamOptions(), FleetClientKind.AdaptiveBudget);

    /// <summary>VpcCni's defaults with VPC_CNI_EC2_FLEET_SIZE set to the fleet's node count: the paced budget.</summary>
    public static FleetPolicy VpcCniPaced { get; } = new("paced", () => new IpamOptions(), FleetClientKind.AdaptiveBudget) { Paced = true };

    /// <summary>The policies `--policies` may name.</summary>
    public static IReadOnlyList<FleetPolicy> Known { get; } = [Upstream, VpcCni];

    /// <summary>Every policy `--policies` may name: <see cref="Known"/> (the default pair) and the comparisons.</summary>
    public static IReadOnlyList<FleetPolicy> All { get; } = [Upstream, VpcCni, VpcCniPaced, Adaptive, EventDriven, Burst];

    private static IpamOptions Named(string name) =>
        SimulationPolicies.TryGet(name, null, out var policy) ? policy.Options : throw new ArgumentException($"unknown policy {name}", nameof(name));
}
