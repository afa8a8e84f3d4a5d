namespace VpcCni.Ipam;

/// <summary>
/// Pool statistics of one datastore, with upstream's definitions (<c>GetIPStats</c>): totals and assigned over
/// non-excluded ENIs and mode-matching CIDRs only; the prefix counters over all ENIs, excluded ones included.
/// Cooling addresses are reported separately so a policy can decide whether they count as available.
/// </summary>
/// <param name="TotalIPs">Addresses in mode-matching CIDRs of non-excluded ENIs (SIP: /32s; PD: 16 per /28).</param>
/// <param name="AssignedIPs">Of those, addresses bound to an attachment key.</param>
/// <param name="CoolingIPs">Of those, unassigned addresses still inside IP_COOLDOWN_PERIOD.</param>
/// <param name="TotalPrefixes">/28 prefixes on all ENIs (upstream's running prefix counter).</param>
/// <param name="FreePrefixes">Prefixes with no assigned address, on all ENIs (cooling addresses do not make a prefix busy, as upstream).</param>
/// <param name="CoolingFreePrefixes">Of the free prefixes, those that still hold a cooling address.</param>
public readonly record struct PoolStats(
    int TotalIPs,
    int AssignedIPs,
    int CoolingIPs,
    int TotalPrefixes,
    int FreePrefixes,
    int CoolingFreePrefixes)
{
    /// <summary>Upstream's "available": total − assigned (cooling addresses included).</summary>
    public int AvailableIPs => TotalIPs - AssignedIPs;

    /// <summary>Addresses an ADD could take right now: total − assigned − cooling.</summary>
    public int ReadyIPs => TotalIPs - AssignedIPs - CoolingIPs;

    /// <inheritdoc />
    public override string ToString() =>
        $"Total IPs/Prefixes = {TotalIPs}/{TotalPrefixes}, AssignedIPs/CooldownIPs: {AssignedIPs}/{CoolingIPs}";
}
