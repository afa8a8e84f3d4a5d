namespace VpcCni.Cloud;

/// <summary>
/// A node's share of the cloud account's request buckets, learned from the account's answers instead of configured: one
/// token bucket per request class whose rate follows additive increase / multiplicative decrease (AIMD). A throttling
/// answer halves the rate and pauses the class for a jittered, growing back-off; time spent waiting for its own tokens
/// raises the rate by a small constant per second. Every node running this against one account converges to an equal
/// share of the account's refill rate without talking to the others (docs/ec2-budget.md has the argument and numbers).
/// </summary>
/// <remarks>
/// Used by the EC2 provider in front of every call and by the fleet simulator's nodes. All time is from the
/// <see cref="TimeProvider"/>; all randomness from the seed, so a fake clock replays it exactly. Thread-safe.
/// </remarks>
internal sealed class AdaptiveRequestBudget
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ClassState> _classes = new(StringComparer.Ordinal);
    private readonly AdaptiveBudgetOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly bool _paced;
    private readonly IFleetMembership? _membership;
    private long _throttles;
    private long _backgroundQuietUntil;

    /// <param name="buckets">The account's buckets (capacity and refill as published).</param>
    /// <param name="options">Tuning; null for the defaults.</param>
    /// <param name="time">Clock for every rate and pause.</param>
    /// <param name="seed">Seed of the jitter; null for a random one.</param>
    /// <param name="membership">This node's place in the fleet (null: unknown): with two nodes or more the budget sends
    /// on the node's slots of the fleet-wide schedule (docs/ec2-budget.md).</param>
    public AdaptiveRequestBudget(IEnumerable<RequestBucketLimit> buckets, AdaptiveBudgetOptions? options, TimeProvider time, int? seed = null, IFleetMembership? membership = null)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentNullException.ThrowIfNull(time);
        _options = options ?? new AdaptiveBudgetOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.DecreaseFactor, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(_options.DecreaseFactor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.MinimumShare, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MinimumShare, _options.InitialShare);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.FleetSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.FleetMargin);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ScheduleMargin, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.ScheduleFloor, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.ScheduleFloor, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.ScheduleIncreasePerSecond);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.ScheduleGrace.Ticks);
        _time = time;
        _membership = membership;
        _random = seed is { } s ? new Random(s) : new Random();
        _paced = _options.FleetSize > 1;
        var now = time.GetTimestamp();
        foreach (var bucket in buckets)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket.RefillPerSecond, 0);
            var max = bucket.RefillPerSecond;
            var rate = Math.Min(max, max * _options.InitialShare);
            if (_paced)
            {
                // The fair share, with headroom for the randomness of the phases: a fleet that starts at once stays
                // under the account's refill instead of learning it from throttles.
                rate /= _options.FleetSize * (1 + _options.FleetMargin);
            }

            var state = new ClassState(Math.Min(max * _options.MinimumShare, rate / 4), max, rate, _options.InitialTokens, now) { Capacity = bucket.Capacity };
            if (_paced)
            {
                // A random phase, drawn now (the seed decides it) and applied at the class's first request: the grid
                // starts when the node first needs the class, so what the fleet sends first is spread over one period
                // after the moments its nodes first need it, whenever those are.
                state.Phase = _random.NextDouble();
            }

            _classes[bucket.Name] = state;
        }
    }

    /// <summary>Whether the budget paces a fleet now: on the fleet-wide schedule (a known place among two nodes or more) or on
    /// its own random grid (<see cref="AdaptiveBudgetOptions.FleetSize"/> above 1).</summary>
    public bool IsPaced => _paced || Position is not null;

    // The node's place when it shares the account with other nodes (a valid position of a fleet of two or more).
    private FleetPosition? Position => _membership?.Current is { IsValid: true, Size: > 1 } p ? p : null;

    /// <summary>Throttling answers heard (every one, also those that did not lower the rate).</summary>
    public long Throttles => Interlocked.Read(ref _throttles);

    /// <summary>The rate (requests per second) this node allows itself now in <paramref name="bucket"/>.</summary>
    public double RateOf(string bucket)
    {
        lock (_lock)
        {
            return Get(bucket).Rate;
        }
    }

    /// <summary>The bucket names this budget knows.</summary>
    public IReadOnlyCollection<string> Buckets => _classes.Keys;

    /// <summary>
    /// Takes a token of <paramref name="bucket"/> if one is there: returns <see cref="TimeSpan.Zero"/> when the request
    /// may go now, otherwise how long to wait before asking again (jittered; the token is not taken).
    /// </summary>
    /// <param name="bucket">The request's bucket.</param>
    /// <param name="background">A request nobody waits for (topping up a warm pool): it goes at
    /// <see cref="AdaptiveBudgetOptions.BackgroundShare"/> of the rate, so the account's tokens go first to nodes whose
    /// pods wait; it does not raise the rate.</param>
    /// <param name="followUp">A request that completes an operation whose first request was paced (Attach and Modify
    /// after Create, Delete after Detach): in a paced fleet it goes at once, on its leader's slot, so that an operation is
    /// paced once (its arrivals at the account are the leader's, shifted by the leader's latency). Outside a fleet it is
    /// an ordinary request.</param>
    public TimeSpan TryAcquire(string bucket, bool background = false, bool followUp = false) => TryAcquire(bucket, background, followUp, deferrable: false);

    /// <summary>As <see cref="TryAcquire(string, bool, bool)"/>; a <paramref name="deferrable"/> request (a periodic
    /// reconcile: its caller gives up and asks again later rather than wait) books the node's next slot, which it may
    /// then use late, once, so that a caller asking every few seconds does not miss its slots.</summary>
    public TimeSpan TryAcquire(string bucket, bool background, bool followUp, bool deferrable)
    {
        lock (_lock)
        {
            var c = Get(bucket);
            var now = _time.GetTimestamp();
            Refill(c, now);
            if (now < c.PausedUntil)
            {
                if (!background)
                {
                    c.WaitingSince ??= now;
                }

                return Stretch(_time.GetElapsedTime(now, c.PausedUntil));
            }

            if (Position is { } position)
            {
                return Scheduled(c, now, background, position);
            }

            if (_paced)
            {
                if (followUp)
                {
                    return TimeSpan.Zero;
                }

                var paced = Paced(c, now, background);
                c.Booked |= deferrable && paced > TimeSpan.Zero;
                return paced;
            }

            if (background)
            {
                // Waits are capped so that a request that becomes urgent (a pod now waits for it) is asked again soon.
                var next = Math.Max(c.BackgroundNextAt, _backgroundQuietUntil);
                if (now < next)
                {
                    return Min(Stretch(_time.GetElapsedTime(now, next)), _options.BackgroundRecheck);
                }

                if (c.Tokens < 1)
                {
                    return Min(Stretch(TimeSpan.FromSeconds((1 - c.Tokens) / c.Rate)), _options.BackgroundRecheck);
                }

                c.Tokens -= 1;
                c.BackgroundNextAt = now + (long)(_time.TimestampFrequency / (c.Rate * _options.BackgroundShare));
                return TimeSpan.Zero;
            }

            if (c.Tokens >= 1)
            {
                c.Tokens -= 1;
                if (c.WaitingSince is { } since)
                {
                    // Additive increase, in proportion to the time this node's own budget held it back: a node that is not
                    // limited by its rate has learned nothing about the account and keeps the rate it has.
                    var waited = _time.GetElapsedTime(since, now).TotalSeconds;
                    c.Rate = Math.Min(c.MaxRate, c.Rate + (c.MaxRate * _options.IncreasePerSecond * waited));
                    c.WaitingSince = null;
                }

                return TimeSpan.Zero;
            }

            c.WaitingSince ??= now;
            return Stretch(TimeSpan.FromSeconds((1 - c.Tokens) / c.Rate));
        }
    }

    /// <summary>Waits (on the <see cref="TimeProvider"/>) until a token of <paramref name="bucket"/> is taken.</summary>
    public ValueTask AcquireAsync(string bucket, CancellationToken cancellationToken) => AcquireAsync(bucket, null, false, cancellationToken);

    /// <summary>Waits (on the <see cref="TimeProvider"/>) until a token of <paramref name="bucket"/> is taken.</summary>
    /// <param name="bucket">The request's bucket.</param>
    /// <param name="background">Asked before each try: true while nobody waits for the request (null: always urgent).</param>
    /// <param name="followUp">See <see cref="TryAcquire(string, bool, bool)"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async ValueTask AcquireAsync(string bucket, Func<bool>? background, bool followUp, CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = TryAcquire(bucket, background?.Invoke() ?? false, followUp);
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The account accepted a request of <paramref name="bucket"/>: the back-off streak ends.</summary>
    public void OnSuccess(string bucket)
    {
        lock (_lock)
        {
            Get(bucket).Streak = 0;
        }
    }

    /// <summary>
    /// The account answered a request of <paramref name="bucket"/> with throttling: multiplicative decrease (once per
    /// pause: answers to requests sent before the pause began are the same congestion) and a jittered back-off that
    /// doubles with each throttle in a row, or the account's <paramref name="retryAfter"/> when longer.
    /// </summary>
    public void OnThrottled(string bucket, TimeSpan? retryAfter = null)
    {
        Interlocked.Increment(ref _throttles);
        lock (_lock)
        {
            var c = Get(bucket);
            var now = _time.GetTimestamp();
            Refill(c, now);
            if (now < c.PausedUntil)
            {
                return;
            }

            c.Rate = Math.Max(c.MinRate, c.Rate * _options.DecreaseFactor);
            c.Tokens = Math.Min(c.Tokens, 0);
            // The account is crowded: requests nobody waits for stand aside for a while, so the tokens go to nodes
            // whose pods wait (a node cannot see those, but it hears the crowd).
            _backgroundQuietUntil = Math.Max(_backgroundQuietUntil, now + (long)(Stretch(_options.BackgroundQuiet).TotalSeconds * _time.TimestampFrequency));
            if (_options.CoupleClasses)
            {
                // The classes of one ENI's lifecycle (create, attach, modify, assign) are sent in lockstep by the same
                // crowd of nodes: what one class learned about the crowd holds for the others, so they need not each be
                // throttled down from the top.
                var share = c.Rate / c.MaxRate;
                foreach (var other in _classes.Values)
                {
                    other.Rate = Math.Max(other.MinRate, Math.Min(other.Rate, other.MaxRate * share));
                }
            }

            c.Streak = Math.Min(c.Streak + 1, 30);
            var backoff = Math.Min(_options.MaxBackoff.TotalSeconds, _options.BaseBackoff.TotalSeconds * Math.Pow(2, c.Streak - 1));
            backoff = Math.Max(backoff, retryAfter?.TotalSeconds ?? 0);
            c.PausedUntil = now + (long)(Stretch(TimeSpan.FromSeconds(backoff)).TotalSeconds * _time.TimestampFrequency);
        }
    }

    // The fleet-wide schedule: the account bucket's refill is a sequence of slots, slot j at j / R seconds since the Unix
    // epoch, and the node of rank r owns the slots j ≡ r (mod N). A slot may be used from L seconds before its time until
    // g after it, once, with L + g = (capacity − margin) / R: every window of the account's time then holds at most
    // capacity − margin + 1 + R × its length requests, under the bucket's own limit, so the fleet is never throttled
    // by itself however its demand falls (docs/ec2-budget.md has the argument). The lead is what lets the first wave
    // spend the account's stored tokens at once. A throttle (someone else in the account) halves the rate: the node then
    // skips slots.
    private const double ClaimHoldSeconds = 0.5;

    private TimeSpan Scheduled(ClassState c, long now, bool background, FleetPosition position)
    {
        var refill = c.MaxRate;
        var window = Math.Max(0, (c.Capacity - _options.ScheduleMargin) / refill);
        var grace = Math.Min(_options.ScheduleGrace.TotalSeconds, window / 2);
        var lead = window - grace;
        var size = position.Size;
        // The fair share is the most the schedule gives; a throttle halves from there, down to a floor that keeps a
        // node progressing (one slot in ScheduleFloor⁻¹) however often it was throttled.
        var fair = refill / size;
        c.Rate = Math.Clamp(c.Rate, fair * _options.ScheduleFloor, fair);
        var unix = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;
        var first = (long)Math.Ceiling(((unix - grace) * refill) - 1e-9);
        if (c.LastSlot is { } last)
        {
            var spacing = Math.Max(size, (long)Math.Ceiling((refill / c.Rate) - 1e-9));
            first = Math.Max(first, last + spacing);
        }

        var slot = first + ((((position.Rank - first) % size) + size) % size);
        var opens = (slot / refill) - lead;
        if (unix + 1e-9 >= opens)
        {
            if (background && c.ClaimedSlot == slot && unix < opens + ClaimHoldSeconds)
            {
                // The slot goes to the node's urgent request that waits for it (it wakes as the slot opens); one that
                // does not come (it became background, or was cancelled) leaves the slot to others soon after.
                return TimeSpan.FromSeconds(opens + ClaimHoldSeconds - unix);
            }

            if (background && now < _backgroundQuietUntil)
            {
                // The account was heard crowded lately: requests nobody waits for stand aside.
                return Min(_time.GetElapsedTime(now, _backgroundQuietUntil), _options.BackgroundRecheck);
            }

            if (!background && c.WaitingSince is { } since)
            {
                // Additive increase in fair shares per second waited: a halving is undone within minutes, whatever the
                // fleet's size (a slot is N / R seconds apart, so an increase per slot would be slow in a big fleet).
                var waited = _time.GetElapsedTime(since, now).TotalSeconds;
                c.Rate = Math.Min(fair, c.Rate + (fair * _options.ScheduleIncreasePerSecond * waited));
                c.WaitingSince = null;
            }

            c.LastSlot = slot;
            c.ClaimedSlot = null;
            if (background)
            {
                // No urgent request of the node waits now (one that waited has become background or gone).
                c.WaitingSince = null;
            }

            return TimeSpan.Zero;
        }

        var wait = TimeSpan.FromSeconds(opens - unix);
        if (!background)
        {
            c.WaitingSince ??= now;
            c.ClaimedSlot = slot;
            return wait;
        }

        return Min(wait, _options.BackgroundRecheck);
    }

    // A paced fleet: each class sends only on its own grid (one slot per period at a random phase; a slot nobody used
    // is lost, so an idle node holds no credit that a whole fleet could spend at the same instant). A waiting urgent
    // request keeps the slot from background requests. docs/ec2-budget.md has the argument.
    private TimeSpan Paced(ClassState c, long now, bool background)
    {
        var period = PeriodOf(c);
        var grace = Math.Min(period / 2, _time.TimestampFrequency);
        if (c.Phase is { } phase)
        {
            c.NextSlot = now + (long)(phase * period);
            c.Phase = null;
        }

        if (c.Booked && now > c.NextSlot + period)
        {
            // A deferred request booked the slot: it may use the latest slot that passed, once.
            c.NextSlot += (long)Math.Floor((double)(now - c.NextSlot) / period) * period;
        }
        else if (!c.Booked && now > c.NextSlot + grace)
        {
            c.NextSlot += (long)Math.Ceiling((double)(now - c.NextSlot) / period) * period;
        }

        if (now >= c.NextSlot)
        {
            if (background)
            {
                // The slot is this node's own: background work may use it unless an urgent request of the node waits
                // (or the account was heard crowded lately).
                if (c.WaitingSince is not null || now < _backgroundQuietUntil)
                {
                    return Min(_time.GetElapsedTime(now, now + Math.Max(period, _backgroundQuietUntil - now)), _options.BackgroundRecheck);
                }
            }
            else if (c.WaitingSince is { } since)
            {
                // Additive increase, scaled to the fleet: the sum over all nodes grows as one node's would alone.
                var waited = _time.GetElapsedTime(since, now).TotalSeconds;
                c.Rate = Math.Min(c.MaxRate, c.Rate + (c.MaxRate * _options.IncreasePerSecond * waited / _options.FleetSize));
                c.WaitingSince = null;
            }

            c.Booked = false;
            c.NextSlot = c.NextSlot + period > now ? c.NextSlot + period : now + period;
            return TimeSpan.Zero;
        }

        if (!background)
        {
            c.WaitingSince ??= now;
            return _time.GetElapsedTime(now, c.NextSlot);
        }

        return Min(_time.GetElapsedTime(now, c.NextSlot), _options.BackgroundRecheck);
    }

    private long PeriodOf(ClassState c) => Math.Max(1, (long)(_time.TimestampFrequency / c.Rate));

    private ClassState Get(string bucket) =>
        _classes.TryGetValue(bucket, out var c) ? c : throw new ArgumentException($"unknown request bucket \"{bucket}\"", nameof(bucket));

    private void Refill(ClassState c, long now)
    {
        var elapsed = _time.GetElapsedTime(c.RefilledAt, now).TotalSeconds;
        if (elapsed > 0)
        {
            var cap = Math.Max(1, c.Rate * _options.BurstWindow.TotalSeconds);
            c.Tokens = Math.Min(cap, c.Tokens + (elapsed * c.Rate));
            c.RefilledAt = now;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private TimeSpan Stretch(TimeSpan wait) => TimeSpan.FromSeconds(wait.TotalSeconds * (1 + (_options.Jitter * _random.NextDouble())));

    private sealed class ClassState(double minRate, double maxRate, double rate, double tokens, long now)
    {
        public double MinRate { get; } = minRate;

        public double MaxRate { get; } = maxRate;

        public double Rate { get; set; } = rate;

        public double Tokens { get; set; } = tokens;

        public long RefilledAt { get; set; } = now;

        public long PausedUntil { get; set; } = now;

        public long? WaitingSince { get; set; }

        public long BackgroundNextAt { get; set; }

        /// <summary>Paced fleet: the next slot of this class's grid.</summary>
        public long NextSlot { get; set; }

        /// <summary>Paced fleet: a deferred request waits for the next slot (it may use it late, once).</summary>
        public bool Booked { get; set; }

        /// <summary>Paced fleet: the grid's random phase (a fraction of a period) until the class's first request places it.</summary>
        public double? Phase { get; set; }

        public int Streak { get; set; }

        /// <summary>The account bucket's capacity (its burst).</summary>
        public double Capacity { get; init; }

        /// <summary>Fleet schedule: the last slot this node used.</summary>
        public long? LastSlot { get; set; }

        /// <summary>Fleet schedule: the slot an urgent request of this node waits for (kept from background requests).</summary>
        public long? ClaimedSlot { get; set; }
    }
}
