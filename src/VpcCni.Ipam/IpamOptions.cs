using Microsoft.Extensions.Options;

namespace VpcCni.Ipam;

/// <summary>Which pool policy sizes the warm pool.</summary>
public enum PoolPolicyKind
{
    /// <summary>Upstream's exact WARM_ENI_TARGET / WARM_IP_TARGET / MINIMUM_IP_TARGET / WARM_PREFIX_TARGET semantics.</summary>
    Upstream,

    /// <summary>Sizes the idle pool from the recent ADD rate and waiting ADDs, capped by the static targets.</summary>
    DemandAware,

    /// <summary>
    /// Upstream's static warm pool while the node warms up, then a lean pool sized from demand: waiting ADDs and the ADD
    /// rate grow several ENIs at once, and idle addresses are given back slowly (docs/pool-policies.md).
    /// </summary>
    Burst,
}

/// <summary>How the pool loop is driven.</summary>
public enum PoolLoopMode
{
    /// <summary>VpcCni: an ADD that finds the pool low wakes the loop at once; rounds repeat until the pool is on target.</summary>
    EventDriven,

    /// <summary>
    /// Upstream ipamd's cadence: every <see cref="IpamOptions.PoolInterval"/> (half of it, one pool decision, the other
    /// half, the reconcile when due), never woken by ADDs or DELs; one decision per round.
    /// </summary>
    FixedInterval,
}

/// <summary>
/// IPAM engine settings. Property docs name the upstream environment variable each one binds to
/// (VpcCni.Hosting binds them; embedders may bind from IConfiguration with the same names).
/// </summary>
public sealed class IpamOptions
{
    /// <summary><c>WARM_ENI_TARGET</c> (default 1): whole free ENIs' worth of addresses to keep. Ignored when a WARM_IP_TARGET or MINIMUM_IP_TARGET is set, and in PD mode.</summary>
    public int WarmEniTarget { get; set; } = 1;

    /// <summary><c>WARM_IP_TARGET</c> (default 0 = unset): free addresses to keep; overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET.</summary>
    public int WarmIpTarget { get; set; }

    /// <summary><c>MINIMUM_IP_TARGET</c> (default 0 = unset): floor for the total number of addresses.</summary>
    public int MinimumIpTarget { get; set; }

    /// <summary><c>WARM_PREFIX_TARGET</c> (default 0; upstream's manifest sets 1): free /28 prefixes to keep in PD mode.</summary>
    public int WarmPrefixTarget { get; set; }

    /// <summary><c>ENABLE_PREFIX_DELEGATION</c> (default false): hand out addresses from /28 prefixes.</summary>
    public bool EnablePrefixDelegation { get; set; }

    /// <summary><c>ENABLE_IPv6</c> (default false): an IPv6 cluster. Pods get /128 addresses from the primary ENI's /80
    /// prefix; no warm pool, no ENIs beyond the primary. Needs prefix delegation and no
    /// custom networking (<see cref="IpamUpstreamVariables"/>), and a Nitro or bare-metal instance (checked at start).</summary>
    public bool EnableIPv6 { get; set; }

    /// <summary><c>MAX_ENI</c> (default -1 = the instance limit): at most this many ENIs.</summary>
    public int MaxEni { get; set; } = -1;

    /// <summary><c>IP_COOLDOWN_PERIOD</c> (default 30 s): a released address is not handed out again before this.</summary>
    public TimeSpan IpCooldownPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Max pods of the node (kubelet capacity or eni-max-pods.txt); null = derive from the instance limits.</summary>
    public int? MaxPods { get; set; }

    /// <summary><c>AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG</c>: the primary ENI gets no pod addresses.</summary>
    public bool UseCustomNetworking { get; set; }

    /// <summary><c>ENABLE_POD_ENI</c>: keep one ENI slot for the trunk ENI on trunking-capable types.</summary>
    public bool EnablePodEni { get; set; }

    /// <summary><c>MANAGE_UNTAGGED_ENI</c> (default true): an ENI with neither a <c>node.k8s.amazonaws.com/no_manage</c> tag nor
    /// this instance's <c>node.k8s.amazonaws.com/instance_id</c> tag is managed. False leaves such ENIs alone (they still use an ENI slot).</summary>
    public bool ManageUntaggedEni { get; set; } = true;

    /// <summary><c>VPC_CNI_POOL_POLICY</c> (VpcCni only): <c>Upstream</c> (default), <c>DemandAware</c> or <c>Burst</c>.</summary>
    public PoolPolicyKind PoolPolicy { get; set; } = PoolPolicyKind.Upstream;

    /// <summary><c>VPC_CNI_ASSIGN_WAIT</c> (VpcCni only, default 3 s): how long an ADD that finds the pool empty waits for a grow.</summary>
    public TimeSpan AssignWaitTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The largest <see cref="AssignWaitTimeout"/> allowed (a client's AddNetwork deadline must cover it).</summary>
    public static readonly TimeSpan MaxAssignWaitTimeout = TimeSpan.FromMinutes(2);

    /// <summary><c>VPC_CNI_COUNT_COOLING_AS_AVAILABLE</c> (VpcCni only, default false): count cooling addresses as available like upstream (§8.1.7).</summary>
    public bool CountCoolingAsAvailable { get; set; }

    /// <summary>Pool loop period (upstream: 5 s).</summary>
    public TimeSpan PoolInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How the pool loop runs (default event-driven; <see cref="PoolLoopMode.FixedInterval"/> reproduces upstream's
    /// timing for comparisons). No environment variable: the simulator and embedders set it.</summary>
    public PoolLoopMode PoolLoop { get; set; } = PoolLoopMode.EventDriven;

    /// <summary>At most this many new ENIs per pool round (0 = no cap; upstream creates at most one per 5 s cycle).
    /// No environment variable: the simulator and embedders set it.</summary>
    public int MaxEniCreatesPerRound { get; set; }

    /// <summary>Reconcile against the cloud's view at least this often (upstream: 60 s).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>No address/prefix release within this time of the previous one (upstream: 30 s).</summary>
    public TimeSpan DecreaseThrottle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A new ENI is not deleted before this age (upstream: 1 min).</summary>
    public TimeSpan MinEniLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary><c>ENABLE_SUBNET_DISCOVERY</c> (default true): when a top-up is refused because its ENI's subnet is full
    /// (or has no free /28), try the next ENI and then a new ENI (which the provider may create in another subnet) before
    /// backing off, as upstream; off, such a refusal starts the backoff at once.</summary>
    public bool EnableSubnetDiscovery { get; set; } = true;

    /// <summary>No growth for this long after the subnet ran out of addresses or /28 blocks (upstream: 120 s). In prefix
    /// delegation, also how often an ENI in /32 fallback tries a /28 prefix again.</summary>
    public TimeSpan InsufficientCapacityBackoff { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Demand-aware: window over which the ADD rate is measured.</summary>
    public TimeSpan DemandWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Demand-aware: expected time to bring new addresses (new ENI) online; idle target = rate × this.</summary>
    public TimeSpan DemandLeadTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Demand-aware: idle addresses always kept (at least 1).</summary>
    public int DemandMinimumIdle { get; set; } = 2;

    /// <summary>
    /// <c>AWS_VPC_K8S_CNI_BACKING_STORE</c>: the durable allocation record (upstream's checkpoint JSON plus a journal beside
    /// it). Null keeps allocations in memory only: a restarted engine forgets which pods hold which addresses. The
    /// engine logs which one it runs with at start.
    /// </summary>
    public string? BackingStorePath { get; set; }

    /// <summary>Copies every setting to <paramref name="target"/> (to hand a settings object to the options pattern).</summary>
    public void CopyTo(IpamOptions target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.WarmEniTarget = WarmEniTarget;
        target.WarmIpTarget = WarmIpTarget;
        target.MinimumIpTarget = MinimumIpTarget;
        target.WarmPrefixTarget = WarmPrefixTarget;
        target.EnablePrefixDelegation = EnablePrefixDelegation;
        target.EnableIPv6 = EnableIPv6;
        target.MaxEni = MaxEni;
        target.IpCooldownPeriod = IpCooldownPeriod;
        target.MaxPods = MaxPods;
        target.UseCustomNetworking = UseCustomNetworking;
        target.EnablePodEni = EnablePodEni;
        target.ManageUntaggedEni = ManageUntaggedEni;
        target.EnableSubnetDiscovery = EnableSubnetDiscovery;
        target.PoolPolicy = PoolPolicy;
        target.AssignWaitTimeout = AssignWaitTimeout;
        target.CountCoolingAsAvailable = CountCoolingAsAvailable;
        target.PoolInterval = PoolInterval;
        target.PoolLoop = PoolLoop;
        target.MaxEniCreatesPerRound = MaxEniCreatesPerRound;
        target.ReconcileInterval = ReconcileInterval;
        target.DecreaseThrottle = DecreaseThrottle;
        target.MinEniLifetime = MinEniLifetime;
        target.InsufficientCapacityBackoff = InsufficientCapacityBackoff;
        target.DemandWindow = DemandWindow;
        target.DemandLeadTime = DemandLeadTime;
        target.DemandMinimumIdle = DemandMinimumIdle;
        target.BackingStorePath = BackingStorePath;
    }

    /// <summary>A copy with <paramref name="change"/> applied.</summary>
    internal IpamOptions With(Action<IpamOptions> change)
    {
        var copy = (IpamOptions)MemberwiseClone();
        change(copy);
        return copy;
    }

    /// <summary>The effective targets for network cards > 0: upstream forces WARM_IP_TARGET = MINIMUM_IP_TARGET = 1.</summary>
    internal IpamOptions ForSecondaryCard()
    {
        var copy = (IpamOptions)MemberwiseClone();
        copy.WarmIpTarget = 1;
        copy.MinimumIpTarget = 1;
        return copy;
    }

    /// <summary>True when WARM_IP_TARGET or MINIMUM_IP_TARGET is set (upstream's warmIPTargetsDefined).</summary>
    public bool IpTargetsDefined => WarmIpTarget != 0 || MinimumIpTarget != 0;
}

/// <summary>Rejects invalid IPAM settings at start with messages that name the variable.</summary>
public sealed class IpamOptionsValidator : IValidateOptions<IpamOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void NonNegative(int value, string variable)
        {
            if (value < 0)
            {
                errors.Add($"{variable} must be 0 or more (got {value}).");
            }
        }

        NonNegative(options.WarmEniTarget, "WARM_ENI_TARGET");
        NonNegative(options.WarmIpTarget, "WARM_IP_TARGET");
        NonNegative(options.MinimumIpTarget, "MINIMUM_IP_TARGET");
        NonNegative(options.WarmPrefixTarget, "WARM_PREFIX_TARGET");
        if (options.MaxEni == 0 || options.MaxEni < -1)
        {
            errors.Add($"MAX_ENI must be 1 or more, or -1 for the instance limit (got {options.MaxEni}).");
        }

        if (options.IpCooldownPeriod < TimeSpan.Zero)
        {
            errors.Add($"IP_COOLDOWN_PERIOD must be 0 or more seconds (got {options.IpCooldownPeriod.TotalSeconds}).");
        }

        if (options.MaxPods is < 1)
        {
            errors.Add($"max pods must be 1 or more (got {options.MaxPods}).");
        }

        if (options.EnablePrefixDelegation && options.WarmPrefixTarget == 0 && options.WarmIpTarget == 0 && options.MinimumIpTarget == 0)
        {
            errors.Add("ENABLE_PREFIX_DELEGATION=true needs WARM_PREFIX_TARGET, or WARM_IP_TARGET/MINIMUM_IP_TARGET, above 0: with every target 0 no prefix would be kept warm.");
        }

        if (options.AssignWaitTimeout < TimeSpan.Zero || options.AssignWaitTimeout > IpamOptions.MaxAssignWaitTimeout)
        {
            errors.Add($"VPC_CNI_ASSIGN_WAIT must be between 0 and 120 seconds (got {options.AssignWaitTimeout.TotalSeconds}).");
        }

        void Positive(TimeSpan value, string what)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{what} must be positive (got {value}).");
            }
        }

        Positive(options.PoolInterval, "pool interval");
        Positive(options.ReconcileInterval, "reconcile interval");
        Positive(options.DemandWindow, "demand window");
        if (options.DecreaseThrottle < TimeSpan.Zero || options.MinEniLifetime < TimeSpan.Zero || options.InsufficientCapacityBackoff < TimeSpan.Zero || options.DemandLeadTime < TimeSpan.Zero)
        {
            errors.Add("decrease throttle, minimum ENI lifetime, capacity backoff and demand lead time must not be negative.");
        }

        if (options.DemandMinimumIdle < 1)
        {
            errors.Add($"VPC_CNI_DEMAND_MIN_IDLE must be 1 or more (got {options.DemandMinimumIdle}).");
        }

        if (options.BackingStorePath is { } path && (path.Length == 0 || path.EndsWith('/')))
        {
            errors.Add($"AWS_VPC_K8S_CNI_BACKING_STORE must be a file path (got \"{path}\").");
        }

        if (!Enum.IsDefined(options.PoolPolicy))
        {
            errors.Add($"VPC_CNI_POOL_POLICY must be Upstream, DemandAware or Burst (got {options.PoolPolicy}).");
        }

        if (!Enum.IsDefined(options.PoolLoop))
        {
            errors.Add($"pool loop mode must be EventDriven or FixedInterval (got {options.PoolLoop}).");
        }

        if (options.MaxEniCreatesPerRound < 0)
        {
            errors.Add($"max ENI creations per round must be 0 (no cap) or more (got {options.MaxEniCreatesPerRound}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
