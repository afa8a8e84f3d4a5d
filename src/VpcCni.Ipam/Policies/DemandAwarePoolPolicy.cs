namespace VpcCni.Ipam;

/// <summary>
/// Sizes the idle pool from demand: idle target = ceil(recent ADD rate × (lead time + IP_COOLDOWN_PERIOD)), at least
/// <see cref="IpamOptions.DemandMinimumIdle"/>, never more than the idle ceiling the static targets would hold
/// (WARM_IP_TARGET; or WARM_ENI_TARGET × addresses per ENI; or WARM_PREFIX_TARGET × 16; MINIMUM_IP_TARGET stays a floor
/// of the total). ADDs already waiting are added to the shortfall, and growth may run on several ENIs at once
/// (each ENI still gets one operation at a time). Shrinking starts only above twice the target (hysteresis, capped by
/// the ceiling). The rest is upstream's WARM_IP_TARGET logic.
/// </summary>
internal sealed class DemandAwarePoolPolicy : IPoolPolicy
{
    public static DemandAwarePoolPolicy Instance { get; } = new();

    /// <inheritdoc />
    public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var idle = IdleTarget(snapshot, limits, options);
        var grow = UpstreamPoolPolicy.Decide(snapshot, limits, options.With(o => o.WarmIpTarget = idle), growOnSeveralEnis: true, extraShort: Math.Max(0, snapshot.WaitingAssignments));
        if (grow.Grow.Count > 0 || grow.Blocked != GrowthBlock.None || grow.TooLow)
        {
            return grow with { Release = [], DeleteEniId = null };
        }

        // Hysteresis: shrink only above twice the target (capped by the ceiling), so churn does not flap the pool.
        var ceiling = StaticIdleCeiling(snapshot.Stats, limits, options);
        var releaseAbove = Math.Min(Math.Max(ceiling, idle), Math.Max(2 * idle, idle + 2));
        var shrink = UpstreamPoolPolicy.Decide(snapshot, limits, options.With(o => o.WarmIpTarget = releaseAbove), growOnSeveralEnis: false, extraShort: 0);
        return shrink with { Grow = [], FallbackNewEniUnits = 0 };
    }

    /// <summary>The idle-address target for this snapshot (exposed for diagnostics and tests).</summary>
    public static int IdleTarget(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var ceiling = StaticIdleCeiling(snapshot.Stats, limits, options);
        // Addresses needed while new ones are on their way, plus those that churn parks in cooldown.
        var horizon = options.DemandLeadTime + (options.CountCoolingAsAvailable ? TimeSpan.Zero : options.IpCooldownPeriod);
        var fromRate = (int)Math.Ceiling(Math.Max(0, snapshot.AddsPerSecond) * horizon.TotalSeconds);
        return Math.Clamp(Math.Max(fromRate, options.DemandMinimumIdle), 1, Math.Max(1, ceiling));
    }

    /// <summary>The most idle addresses the static targets would keep.</summary>
    public static int StaticIdleCeiling(PoolStats stats, PoolLimits limits, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        if (limits.IsSecondaryCard)
        {
            return 1;
        }

        if (options.WarmIpTarget > 0)
        {
            return options.WarmIpTarget;
        }

        if (options.MinimumIpTarget > 0)
        {
            return Math.Max(1, options.MinimumIpTarget - stats.AssignedIPs);
        }

        return options.EnablePrefixDelegation
            ? Math.Max(1, options.WarmPrefixTarget) * UpstreamPoolPolicy.AddressesPerPrefix
            : Math.Max(1, options.WarmEniTarget) * limits.CidrsPerEni;
    }
}
