namespace VpcCni.Ipam;

/// <summary>
/// Serves bursts from a warm pool, grows for the rest at once, and gives idle addresses back slowly
/// (docs/pool-policies.md):
/// <list type="bullet">
/// <item><b>Warm-up</b>: until the node has held as many pods at once as the static targets keep idle (WARM_ENI_TARGET ×
/// addresses per ENI, WARM_IP_TARGET, ...), the pool is upstream's exactly: a new node gets its pods from a warm pool
/// (as Terway's node warm-up).</item>
/// <item><b>Demand</b>: afterwards the ready-address target is the ADDs expected within one lead time (the window's ADD
/// rate × <see cref="IpamOptions.DemandLeadTime"/>, or the ADDs of the last lead time when more: at a burst's start the
/// window's average lags, and a pool that shrank then would be short a moment later), at least
/// <see cref="IpamOptions.DemandMinimumIdle"/>, at most the static targets' idle. ADDs waiting now are added to the
/// shortfall, and the growth runs on several ENIs at once (top-ups, and new ENIs with all the addresses they hold, up to
/// max pods); the event-driven controller decides again as ADDs start waiting while ENIs are on their way, so a burst
/// larger than the pool waits about one ENI lead time.</item>
/// <item><b>Slow decay</b>: addresses are released only once the ready ones exceed twice the target (hysteresis; the
/// rate is measured over <see cref="IpamOptions.DemandWindow"/>, so the target stays up for that long after a burst),
/// and then only half of the excess per decrease-throttle period; an ENI left empty is deleted as upstream.</item>
/// </list>
/// </summary>
internal sealed class BurstPoolPolicy : IPoolPolicy
{
    public static BurstPoolPolicy Instance { get; } = new();

    /// <inheritdoc />
    public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var waiting = Math.Max(0, snapshot.WaitingAssignments);
        var ceiling = DemandAwarePoolPolicy.StaticIdleCeiling(snapshot.Stats, limits, options);
        if (waiting == 0 && !WarmedUp(snapshot, ceiling))
        {
            return UpstreamPoolPolicy.Instance.Decide(snapshot, limits, options);
        }

        var target = ReadyTarget(snapshot, options, ceiling);
        var grow = UpstreamPoolPolicy.Decide(snapshot, limits, options.With(o => o.WarmIpTarget = target), growOnSeveralEnis: true, extraShort: waiting);
        if (grow.Grow.Count > 0 || grow.Blocked != GrowthBlock.None || grow.TooLow)
        {
            return grow with { Grow = WholeNewEnis(grow.Grow, snapshot, limits, options), Release = [], DeleteEniId = null };
        }

        // Hysteresis, then half the excess per decrease-throttle period; with nothing to release, only an ENI without
        // addresses can go (others' free addresses ≥ all ready ones).
        var ready = options.CountCoolingAsAvailable ? snapshot.Stats.AvailableIPs : snapshot.Stats.ReadyIPs;
        var releaseAbove = Math.Min(Math.Max(ceiling, target), Math.Max(2 * target, target + 2));
        var keep = ready > releaseAbove ? ready - Math.Max(1, (ready - target + 1) / 2) : ready;
        var shrink = UpstreamPoolPolicy.Decide(snapshot, limits, options.With(o => o.WarmIpTarget = Math.Max(1, keep)), growOnSeveralEnis: false, extraShort: 0);
        return shrink with { Grow = [], FallbackNewEniUnits = 0, TooLow = false };
    }

    // A new ENI costs a lead time and an account-wide Create and Attach; its addresses cost little and decay slowly when not
    // used. So a new ENI for demand takes all the addresses it holds (up to max pods): demand that grows while it is on
    // its way (a burst arrives over a moment) is then covered by it instead of by one small ENI per decision.
    private static IReadOnlyList<GrowAction> WholeNewEnis(IReadOnlyList<GrowAction> grow, PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
    {
        if (options.EnablePrefixDelegation || !grow.Any(g => g.IsNewEni && g.Units < limits.CidrsPerEni))
        {
            return grow;
        }

        var headroom = limits.MaxPods - snapshot.Stats.TotalIPs - grow.Sum(g => g.Units);
        var sized = new List<GrowAction>(grow.Count);
        foreach (var action in grow)
        {
            if (action.IsNewEni && action.Units < limits.CidrsPerEni && headroom > 0)
            {
                var extra = Math.Min(limits.CidrsPerEni - action.Units, headroom);
                headroom -= extra;
                sized.Add(action with { Units = action.Units + extra });
            }
            else
            {
                sized.Add(action);
            }
        }

        return sized;
    }

    /// <summary>True once the node has held <paramref name="warmUpSize"/> pods at once: the warm pool did its job.</summary>
    public static bool WarmedUp(PoolSnapshot snapshot, int warmUpSize)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return Math.Max(snapshot.PeakAssigned, snapshot.Stats.AssignedIPs) >= Math.Max(1, warmUpSize);
    }

    /// <summary>Ready addresses to keep after warm-up: the ADDs expected within one lead time (the window's rate, or the last
    /// lead time's ADDs when more), within [minimum idle, static idle].</summary>
    public static int ReadyTarget(PoolSnapshot snapshot, IpamOptions options, int ceiling)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        var expected = Math.Max((int)Math.Ceiling(Math.Max(0, snapshot.AddsPerSecond) * options.DemandLeadTime.TotalSeconds), snapshot.AddsInLeadTime);
        return Math.Clamp(Math.Max(expected, options.DemandMinimumIdle), 1, Math.Max(1, ceiling));
    }
}
