namespace VpcCni.Ipam;

/// <summary>
/// Upstream ipamd's pool policy (reference §2.4–§2.9), as a pure function: target state, too-low/too-high,
/// growth amounts (top up the first ENI with room, else a new ENI), release of free CIDRs with the decrease
/// throttle, and deletion of one deletable ENI. Deliberate differences (docs/upstream-differences.md): the choice
/// among candidates is deterministic (lowest device number grows first, highest is released/deleted first),
/// cooling addresses are neither counted as available nor released unless <see cref="IpamOptions.CountCoolingAsAvailable"/>,
/// and ADDs waiting while no address is ready count as short (<see cref="PoolSnapshot.WaitingAssignments"/>).
/// </summary>
internal sealed class UpstreamPoolPolicy : IPoolPolicy
{
    /// <summary>Addresses per /28 prefix.</summary>
    public const int AddressesPerPrefix = 16;

    public static UpstreamPoolPolicy Instance { get; } = new();

    /// <inheritdoc />
    public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options) =>
        Decide(snapshot, limits, options, growOnSeveralEnis: false, extraShort: 0);

    internal static PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options, bool growOnSeveralEnis, int extraShort)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var pd = options.EnablePrefixDelegation;
        var w = limits.IsSecondaryCard ? 1 : options.WarmIpTarget;
        var m = limits.IsSecondaryCard ? 1 : options.MinimumIpTarget;
        var defined = w != 0 || m != 0;
        var stats = snapshot.Stats;
        var total = stats.TotalIPs;
        var available = options.CountCoolingAsAvailable ? stats.AvailableIPs : stats.ReadyIPs;
        var freePrefixes = options.CountCoolingAsAvailable ? stats.FreePrefixes : stats.FreePrefixes - stats.CoolingFreePrefixes;
        var maxCidrs = limits.CidrsPerEni;
        var unitSize = pd ? AddressesPerPrefix : 1;

        // §2.4 target state (short/over in addresses; converted to prefixes in PD mode).
        var shortIps = Math.Max(w - available, 0);
        shortIps = Math.Max(shortIps, m - total);
        if (extraShort > 0)
        {
            // Waiting ADDs come on top of the target; what is available beyond the target (addresses on their way counted
            // as there while growth is in flight) serves them first.
            shortIps = Math.Max(shortIps, w + extraShort - available);
        }

        // VpcCni: ADDs waiting while no address is ready (every free one cooling down) need addresses now. Upstream's
        // targets do not see them: with only MINIMUM_IP_TARGET set, a pool whose free addresses all cool down is not
        // "short", and the ADDs would wait out IP_COOLDOWN_PERIOD. Upstream fails such ADDs at once (§2.11).
        var waitingOnEmpty = stats.ReadyIPs <= 0 ? Math.Max(0, snapshot.WaitingAssignments) : 0;
        var targetShortIps = shortIps;
        shortIps = Math.Max(shortIps, waitingOnEmpty);
        var overIps = Math.Max(available - w, 0);
        overIps = Math.Max(Math.Min(overIps, total - m), 0);
        int shortUnits = shortIps, overUnits = overIps;
        if (pd)
        {
            shortUnits = CeilDiv(shortIps, AddressesPerPrefix);
            var needForWarm = CeilDiv(stats.AssignedIPs + options.WarmIpTarget, AddressesPerPrefix);
            var needForMin = CeilDiv(options.MinimumIpTarget, AddressesPerPrefix);
            if (limits.IsSecondaryCard)
            {
                needForWarm = CeilDiv(stats.AssignedIPs + w, AddressesPerPrefix);
                needForMin = CeilDiv(m, AddressesPerPrefix);
            }

            overUnits = Math.Max(Math.Min(freePrefixes, stats.TotalPrefixes - needForWarm), 0);
            overUnits = Math.Max(Math.Min(overUnits, stats.TotalPrefixes - needForMin), 0);
        }

        // §2.5 too low.
        var warmT = pd ? options.WarmPrefixTarget : options.WarmEniTarget;
        var perEniUnit = pd ? AddressesPerPrefix : maxCidrs;
        var atMaxPods = total >= limits.MaxPods;
        bool tooLow;
        if (atMaxPods)
        {
            tooLow = false;
        }
        else if (defined)
        {
            tooLow = shortUnits > 0;
        }
        else
        {
            tooLow = available < perEniUnit * warmT || (warmT == 0 && available == 0) || extraShort > 0 || waitingOnEmpty > 0;
        }

        // §2.6 too high.
        var tooHigh = defined ? overUnits > 0 : pd && freePrefixes > options.WarmPrefixTarget;

        var decision = new PoolDecision { TooLow = tooLow, TooHigh = tooHigh, Blocked = atMaxPods && (defined ? (pd ? CeilDiv(targetShortIps, AddressesPerPrefix) : targetShortIps) > 0 : available == 0) ? GrowthBlock.MaxPods : GrowthBlock.None };
        if (tooLow)
        {
            var inBackoff = snapshot.LastInsufficientCapacity is { } last && snapshot.Now - last < options.InsufficientCapacityBackoff;
            decision = inBackoff
                ? decision with { Blocked = GrowthBlock.CapacityBackoff }
                : PlanGrowth(decision, snapshot, limits, options, defined, shortUnits, freePrefixes, growOnSeveralEnis);
        }
        else if (tooHigh)
        {
            var throttled = snapshot.LastDecrease is { } last && snapshot.Now - last <= options.DecreaseThrottle;
            if (!throttled)
            {
                var over = defined ? overUnits : Math.Max(freePrefixes - options.WarmPrefixTarget, 0);
                decision = decision with { Release = PlanRelease(snapshot, over) };
            }
        }

        // §2.8 release an ENI, evaluated every cycle after grow/shrink.
        if (decision.Grow.Count == 0 && ShouldTryFreeEni(snapshot, limits, options, defined, available, warmT, unitSize))
        {
            decision = decision with { DeleteEniId = FindDeletableEni(snapshot, limits, options, w, m, decision.Release) };
        }

        return decision;
    }

    private static PoolDecision PlanGrowth(PoolDecision decision, PoolSnapshot snapshot, PoolLimits limits, IpamOptions options, bool defined, int shortUnits, int freePrefixes, bool several)
    {
        var pd = options.EnablePrefixDelegation;
        var maxCidrs = limits.CidrsPerEni;
        int wanted;
        if (pd)
        {
            wanted = defined ? Math.Max(1, shortUnits) : Math.Max(1, options.WarmPrefixTarget - freePrefixes);

            // VpcCni: no more prefixes than reach max pods (upstream asks for the whole amount as long as the pool is below
            // it, e.g. 13 prefixes for MINIMUM_IP_TARGET=200 with max pods 110): the kubelet never runs more pods, so the
            // pool stays within one prefix's rounding of max pods.
            wanted = Math.Min(wanted, Math.Max(1, CeilDiv(limits.MaxPods - snapshot.Stats.TotalIPs, AddressesPerPrefix)));
        }
        else
        {
            wanted = defined ? shortUnits : maxCidrs;
        }

        if (wanted <= 0)
        {
            return decision;
        }

        var actions = new List<GrowAction>();
        var remaining = wanted;
        foreach (var eni in snapshot.Enis)
        {
            if (eni.IsTrunk || eni.IsExcluded || (limits.SkipPrimaryEni && eni.IsPrimary) || eni.AllCidrs >= maxCidrs)
            {
                continue;
            }

            var units = Math.Min(maxCidrs - eni.AllCidrs, remaining);
            actions.Add(new GrowAction(eni.Id, units));
            remaining -= units;
            if (!several || remaining <= 0)
            {
                break;
            }
        }

        var room = limits.MaxEnis - limits.UnmanagedEnis - (limits.ReserveTrunkSlot ? 1 : 0) - snapshot.Enis.Count;
        var newEniUnits = pd ? Math.Min(NewEniAmount(wanted, defined, pd, maxCidrs, shortUnits), maxCidrs) : NewEniAmount(wanted, defined, pd, maxCidrs, shortUnits);
        if (actions.Count == 0)
        {
            if (room <= 0)
            {
                return decision with { Blocked = GrowthBlock.NoRoom };
            }

            // Step B: a new ENI only when no existing ENI can take more.
            while (room > 0 && remaining > 0)
            {
                var units = Math.Min(remaining, newEniUnits);
                actions.Add(new GrowAction(null, units));
                remaining -= units;
                room--;
                if (!several)
                {
                    break;
                }
            }

            return decision with { Grow = actions };
        }

        // Several-ENI growth (demand-aware): new ENIs for what the top-ups do not cover.
        while (several && remaining > 0 && room > 0)
        {
            var units = Math.Min(remaining, maxCidrs);
            actions.Add(new GrowAction(null, units));
            remaining -= units;
            room--;
        }

        return decision with { Grow = actions, FallbackNewEniUnits = room > 0 ? newEniUnits : 0 };
    }

    // §2.7 GetENIResourcesToAllocate.
    private static int NewEniAmount(int wanted, bool defined, bool pd, int maxCidrs, int shortUnits)
    {
        if (pd)
        {
            return Math.Min(wanted, maxCidrs);
        }

        return defined ? Math.Min(shortUnits, maxCidrs) : maxCidrs;
    }

    private static List<ReleaseAction> PlanRelease(PoolSnapshot snapshot, int over)
    {
        var releases = new List<ReleaseAction>();
        for (var i = snapshot.Enis.Count - 1; i >= 0 && over > 0; i--)
        {
            var eni = snapshot.Enis[i];
            if (eni.FreeableCidrs.Count == 0)
            {
                continue;
            }

            var take = Math.Min(over, eni.FreeableCidrs.Count);
            releases.Add(new ReleaseAction(eni.Id, [.. eni.FreeableCidrs.Take(take)]));
            over -= take;
        }

        return releases;
    }

    private static bool ShouldTryFreeEni(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options, bool defined, int available, int warmT, int unitSize)
    {
        if (defined || limits.IsSecondaryCard)
        {
            return true;
        }

        var perEni = limits.CidrsPerEni * unitSize;
        if (available >= (warmT + 1) * perEni)
        {
            return true;
        }

        return options.EnablePrefixDelegation && snapshot.Enis.Any(e => !e.IsPrimary && !e.IsTrunk && !e.IsEfa && e.Assigned == 0);
    }

    // §2.9, in upstream's order; candidates from the highest device number down.
    private static string? FindDeletableEni(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options, int w, int m, IReadOnlyList<ReleaseAction> releasing)
    {
        var pd = options.EnablePrefixDelegation;
        for (var i = snapshot.Enis.Count - 1; i >= 0; i--)
        {
            var eni = snapshot.Enis[i];
            if (eni.IsPrimary || snapshot.Now - eni.AddedAt < options.MinEniLifetime || eni.Cooling > 0 || eni.Assigned > 0)
            {
                continue;
            }

            if (releasing.Any(r => r.EniId == eni.Id))
            {
                continue;
            }

            var others = snapshot.Enis.Where(o => o.Id != eni.Id && !o.IsExcluded).ToList();
            if (w != 0)
            {
                var need = pd ? CeilDiv(w, AddressesPerPrefix) * AddressesPerPrefix : w;
                var othersFree = others.Sum(o => o.Addresses - o.Assigned - (options.CountCoolingAsAvailable ? 0 : o.Cooling));
                if (othersFree < need)
                {
                    continue;
                }
            }

            if (m != 0)
            {
                var need = pd ? CeilDiv(m, AddressesPerPrefix) * AddressesPerPrefix : m;
                if (others.Sum(o => o.Addresses) < need)
                {
                    continue;
                }
            }

            if (pd && options.WarmPrefixTarget != 0 && others.Sum(o => o.IdleCidrEntries) < options.WarmPrefixTarget)
            {
                continue;
            }

            if (eni.IsTrunk || eni.IsEfa)
            {
                continue;
            }

            return eni.Id;
        }

        return null;
    }

    internal static int CeilDiv(int value, int divisor) => value <= 0 ? 0 : (value + divisor - 1) / divisor;
}
