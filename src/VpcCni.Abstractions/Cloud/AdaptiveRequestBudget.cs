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
    private long _throttles;
    private long _backgroundQuietUntil;

    /// <param name="buckets">The account's buckets (capacity and refill as published).</param>
    /// <param name="options">Tuning; null for the defaults.</param>
    /// <param name="time">Clock for every rate and pause.</param>
    /// <param name="seed">Seed of the jitter; null for a random one.</param>
    public AdaptiveRequestBudget(IEnumerable<RequestBucketLimit> buckets, AdaptiveBudgetOptions? options, TimeProvider time, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentNullException.ThrowIfNull(time);
        _options = options ?? new AdaptiveBudgetOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.DecreaseFactor, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(_options.DecreaseFactor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.MinimumShare, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MinimumShare, _options.InitialShare);
        _time = time;
        _random = seed is { } s ? new Random(s) : new Random();
        var now = time.GetTimestamp();
        foreach (var bucket in buckets)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket.RefillPerSecond, 0);
            var max = bucket.RefillPerSecond;
            _classes[bucket.Name] = new ClassState(max * _options.MinimumShare, max, Math.Min(max, max * _options.InitialShare), _options.InitialTokens, now);
        }
    }

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
    public TimeSpan TryAcquire(string bucket, bool background = false)
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
    public async ValueTask AcquireAsync(string bucket, CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = TryAcquire(bucket);
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

        public int Streak { get; set; }
    }
}
