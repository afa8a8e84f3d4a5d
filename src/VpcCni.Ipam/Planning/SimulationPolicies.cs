namespace VpcCni.Ipam;

/// <summary>
/// Named pool configurations for the simulators (workload replay, fleet), each the real <see cref="PoolController"/>
/// with different options. The node's targets (WARM_*, MINIMUM_IP_TARGET, prefix delegation, max pods, ...) come from
/// the given options; the name decides timing and policy.
/// </summary>
public static class SimulationPolicies
{
    /// <summary>Upstream ipamd's timing and policy (<see cref="Upstream"/>).</summary>
    public const string UpstreamName = "upstream";

    /// <summary>VpcCni's burst policy, event-driven (<see cref="VpcCni"/>).</summary>
    public const string VpcCniName = "vpccni";

    /// <summary>VpcCni's event-driven controller with upstream's policy (the daemon's default).</summary>
    public const string EventDrivenName = "event-driven";

    /// <summary>VpcCni's event-driven controller with the demand-aware policy.</summary>
    public const string DemandAwareName = "demand-aware";

    /// <summary>Every name <see cref="TryGet"/> knows, in the order the plan command shows them.</summary>
    public static IReadOnlyList<string> Names { get; } = [UpstreamName, VpcCniName, EventDrivenName, DemandAwareName];

    /// <summary>
    /// Upstream ipamd as it runs (reference §2.2–§2.7, field survey §0.2): the pool loop every 5 s, not woken by ADDs
    /// (2.5 s, one pool decision, 2.5 s, the reconcile when due); at most one ENI created or topped up per cycle; warm
    /// targets with upstream's arithmetic (cooling addresses count as available); an ADD that finds no address fails at
    /// once and the runtime retries it; after a failed growth (throttled or any other error) the next try is the next cycle,
    /// after InsufficientCidrBlocks/InsufficientFreeAddressesInSubnet 120 s later. The SDK's own retries belong to the
    /// cloud port the simulation runs against.
    /// </summary>
    public static (string Name, IpamOptions Options) Upstream(IpamOptions? targets = null) => (UpstreamName, From(targets, o =>
    {
        o.PoolPolicy = PoolPolicyKind.Upstream;
        o.PoolLoop = PoolLoopMode.FixedInterval;
        o.PoolInterval = TimeSpan.FromSeconds(5);
        o.MaxEniCreatesPerRound = 1;
        o.AssignWaitTimeout = TimeSpan.Zero;
        o.CountCoolingAsAvailable = true;
    }));

    /// <summary>VpcCni's event-driven controller with the burst policy (<see cref="PoolPolicyKind.Burst"/>).</summary>
    public static (string Name, IpamOptions Options) VpcCni(IpamOptions? targets = null) => (VpcCniName, From(targets, o =>
    {
        o.PoolPolicy = PoolPolicyKind.Burst;
        o.PoolLoop = PoolLoopMode.EventDriven;
    }));

    /// <summary>The configuration called <paramref name="name"/> (case-insensitive), or false for an unknown name.</summary>
    public static bool TryGet(string name, IpamOptions? targets, out (string Name, IpamOptions Options) policy)
    {
        ArgumentNullException.ThrowIfNull(name);
        (string, IpamOptions)? found = name.ToLowerInvariant() switch
        {
            UpstreamName => Upstream(targets),
            VpcCniName => VpcCni(targets),
            EventDrivenName => (EventDrivenName, From(targets, o =>
            {
                o.PoolPolicy = PoolPolicyKind.Upstream;
                o.PoolLoop = PoolLoopMode.EventDriven;
            })),
            DemandAwareName => (DemandAwareName, From(targets, o =>
            {
                o.PoolPolicy = PoolPolicyKind.DemandAware;
                o.PoolLoop = PoolLoopMode.EventDriven;
            })),
            _ => null,
        };
        policy = found ?? default;
        return found is not null;
    }

    private static IpamOptions From(IpamOptions? targets, Action<IpamOptions> configure)
    {
        var options = new IpamOptions();
        targets?.CopyTo(options);
        configure(options);
        return options;
    }
}
