namespace VpcCni.Cloud;

/// <summary>
/// Tuning of <see cref="AdaptiveRequestBudget"/>. Rates are fractions of the account bucket's refill rate, so one set of
/// numbers fits every bucket. docs/ec2-budget.md explains the choices.
/// </summary>
internal sealed record AdaptiveBudgetOptions
{
    /// <summary>A new node's rate: the whole account refill (a lone node must not be slowed; the first throttle teaches it).</summary>
    public double InitialShare { get; init; } = 1.0;

    /// <summary>The lowest rate: 1/4096 of the refill (0.0012/s for a 5/s bucket), below any fair share of a 4,000-node account.</summary>
    public double MinimumShare { get; init; } = 1.0 / 4096;

    /// <summary>Multiplicative decrease on a throttling answer.</summary>
    public double DecreaseFactor { get; init; } = 0.5;

    /// <summary>Additive increase: this fraction of the refill per second the node spends waiting for its own budget (1/8192:
    /// 50 busy nodes on a 10-token bucket throttle under 10 % after convergence; 1/1024 throttled 35 %).</summary>
    public double IncreasePerSecond { get; init; } = 1.0 / 8192;

    /// <summary>The node's bucket holds at most this many seconds of its rate (at least one token): a short burst only.</summary>
    public TimeSpan BurstWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Tokens a new node starts with (a lone node's first calls go out at once).</summary>
    public double InitialTokens { get; init; } = 2;

    /// <summary>The first pause after a throttle (doubles with each throttle in a row, capped by <see cref="MaxBackoff"/>).</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause after throttles in a row.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Background requests (nobody waits for them) go at this fraction of the rate.</summary>
    public double BackgroundShare { get; init; } = 1.0 / 8;

    /// <summary>After a throttle in any class, background requests wait this long (jittered): the account is crowded.</summary>
    public TimeSpan BackgroundQuiet { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>A waiting background request asks again at least this often (it may have become urgent).</summary>
    public TimeSpan BackgroundRecheck { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A throttle in one class caps every class at the same share of its refill (see docs/ec2-budget.md).</summary>
    public bool CoupleClasses { get; init; }

    /// <summary>Waits are stretched by a random 0 to this fraction, so nodes that were throttled together do not return together.</summary>
    public double Jitter { get; init; } = 1.0;

    /// <summary>
    /// How many nodes share the account (the Kubernetes node count; 1: this node is alone). Above 1 the budget paces: each
    /// class starts at the fair share refill / (<see cref="FleetSize"/> × (1 + <see cref="FleetMargin"/>)) and sends only
    /// on its own grid of slots (a random phase, one slot per period, unused slots lost), so a fleet that wants to send
    /// at the same moment is spread over one period instead of emptying the account's bucket (docs/ec2-budget.md).
    /// </summary>
    public int FleetSize { get; init; } = 1;

    /// <summary>The fraction of the account's refill a paced fleet leaves unused: the headroom that absorbs the randomness
    /// of the nodes' phases (with 1,000 nodes the busiest window holds ~2 % more slots than the average).</summary>
    public double FleetMargin { get; init; } = 0.05;

    /// <summary>Fleet schedule: account tokens left unused (at least 1), the room for clocks that differ and requests
    /// that reach the account late. A slot may be used within (capacity − margin) / refill seconds around its time.</summary>
    public double ScheduleMargin { get; init; } = 2;

    /// <summary>Fleet schedule: how long after its time a slot may still be used (the rest of the window is lead).</summary>
    public TimeSpan ScheduleGrace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Fleet schedule: the lowest share of the node's slots a throttled node keeps using (1/8: one slot in eight).</summary>
    public double ScheduleFloor { get; init; } = 1.0 / 8;

    /// <summary>Fleet schedule: additive increase, in fair shares per second an urgent request waited (1/1200: a halving is
    /// undone after ~10 minutes of waiting).</summary>
    public double ScheduleIncreasePerSecond { get; init; } = 1.0 / 1200;
}
