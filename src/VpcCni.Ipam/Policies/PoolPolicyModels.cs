using System.Net;

namespace VpcCni.Ipam;

/// <summary>Limits that bound the pool of one datastore.</summary>
/// <param name="MaxEnis">Effective max ENIs: min(MAX_ENI if ≥ 1, the instance limit).</param>
/// <param name="IPv4PerEni">The instance type's IPv4 addresses per ENI, its primary included.</param>
/// <param name="MaxPods">Max pods; the pool never grows once its total reaches it.</param>
public sealed record PoolLimits(int MaxEnis, int IPv4PerEni, int MaxPods)
{
    /// <summary>ENIs on this card that are not ours (no_manage / untagged); they use up ENI slots.</summary>
    public int UnmanagedEnis { get; init; }

    /// <summary>Keep one ENI slot for the trunk ENI (ENABLE_POD_ENI on a trunking type, card 0, no trunk yet).</summary>
    public bool ReserveTrunkSlot { get; init; }

    /// <summary>Custom networking: the primary ENI gets no pod addresses.</summary>
    public bool SkipPrimaryEni { get; init; }

    /// <summary>Network card > 0: upstream forces WARM_IP_TARGET = MINIMUM_IP_TARGET = 1.</summary>
    public bool IsSecondaryCard { get; init; }

    /// <summary>Secondary /32 entries (SIP) or /28 entries (PD) one ENI can hold: IPv4 per ENI − 1.</summary>
    public int CidrsPerEni => IPv4PerEni - 1;
}

/// <summary>Everything a policy decides from; a pure value.</summary>
/// <param name="Stats">Pool statistics (upstream definitions).</param>
/// <param name="Enis">Every ENI of the datastore, by device number.</param>
/// <param name="Now">Current time.</param>
public sealed record PoolSnapshot(PoolStats Stats, IReadOnlyList<EniState> Enis, DateTimeOffset Now)
{
    /// <summary>When addresses or prefixes were last released (the decrease throttle).</summary>
    public DateTimeOffset? LastDecrease { get; init; }

    /// <summary>When the subnet last ran out of addresses or /28 blocks (the growth backoff).</summary>
    public DateTimeOffset? LastInsufficientCapacity { get; init; }

    /// <summary>Recent ADD rate, per second (demand-aware policy).</summary>
    public double AddsPerSecond { get; init; }

    /// <summary>ADDs within the last <see cref="IpamOptions.DemandLeadTime"/> (burst policy: the most recent demand, which
    /// the window's average lags at a burst's start).</summary>
    public int AddsInLeadTime { get; init; }

    /// <summary>ADDs waiting for an address right now (demand-aware policy).</summary>
    public int WaitingAssignments { get; init; }

    /// <summary>The most addresses assigned at once since the controller started (burst policy's warm-up).</summary>
    public int PeakAssigned { get; init; }
}

/// <summary>Add units (addresses or prefixes) to an existing ENI, or create a new ENI with them.</summary>
/// <param name="EniId">The ENI to top up; null means create a new ENI.</param>
/// <param name="Units">/32 addresses (SIP) or /28 prefixes (PD).</param>
public sealed record GrowAction(string? EniId, int Units)
{
    public bool IsNewEni => EniId is null;
}

/// <summary>Return these CIDRs of one ENI to the cloud.</summary>
public sealed record ReleaseAction(string EniId, IReadOnlyList<IPNetwork> Cidrs);

/// <summary>Why the pool is not growing although it is below target.</summary>
public enum GrowthBlock
{
    None,

    /// <summary>The pool already holds max-pods addresses.</summary>
    MaxPods,

    /// <summary>Every usable ENI is full and no ENI slot is left (MAX_ENI, instance limit, unmanaged ENIs, trunk reserve).</summary>
    NoRoom,

    /// <summary>Within the backoff after an insufficient-capacity error.</summary>
    CapacityBackoff,
}

/// <summary>What a policy wants done now. Empty when the pool is where it should be.</summary>
public sealed record PoolDecision
{
    public static PoolDecision None { get; } = new();

    /// <summary>Growth steps; each targets a distinct ENI (or a new one), so they may run concurrently.</summary>
    public IReadOnlyList<GrowAction> Grow { get; init; } = [];

    /// <summary>When the first top-up cannot be done (e.g. the ENI is full after all), create a new ENI with this many units instead; 0 = none.</summary>
    public int FallbackNewEniUnits { get; init; }

    public IReadOnlyList<ReleaseAction> Release { get; init; } = [];

    /// <summary>An ENI to detach and delete (at most one per decision, as upstream).</summary>
    public string? DeleteEniId { get; init; }

    public GrowthBlock Blocked { get; init; }

    /// <summary>Below target (upstream's isDatastorePoolTooLow).</summary>
    public bool TooLow { get; init; }

    /// <summary>Above target (upstream's isDatastorePoolTooHigh).</summary>
    public bool TooHigh { get; init; }

    public bool IsEmpty => Grow.Count == 0 && Release.Count == 0 && DeleteEniId is null;
}

/// <summary>A pool policy: a pure, deterministic function of (snapshot, limits, options) to a decision.</summary>
public interface IPoolPolicy
{
    /// <summary>Decides what to change now.</summary>
    PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options);
}
