using System.Collections.Concurrent;

namespace VpcCni.Aws.Simulation;

/// <summary>
/// The front door of every simulated EC2 request: counts it, applies the configured latency, the
/// account-wide token buckets (RequestLimitExceeded) and injected faults. Deterministic under a fake clock
/// and a fixed seed.
/// </summary>
public sealed class RequestGate
{
    private readonly Lock _gate = new();
    private readonly SimulatedVpcOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _rejections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimeSpan> _latency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(string Code, double Rate)>> _errorRates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<string>> _forced = new(StringComparer.Ordinal);

    internal RequestGate(SimulatedVpcOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _random = new Random(unchecked(options.Seed * 31 + 7));
    }

    /// <summary>Latency applied to every action without its own.</summary>
    public TimeSpan DefaultLatency { get; set; }

    /// <summary>Sets the latency of one action.</summary>
    public void SetLatency(string action, TimeSpan latency)
    {
        lock (_gate)
        {
            _latency[action] = latency;
        }
    }

    /// <summary>Makes a fraction of the calls of <paramref name="action"/> ("*" = every action) fail with <paramref name="code"/>.</summary>
    public void SetErrorRate(string action, string code, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1);
        lock (_gate)
        {
            if (!_errorRates.TryGetValue(action, out var list))
            {
                _errorRates[action] = list = [];
            }

            list.RemoveAll(e => e.Code == code);
            list.Add((code, rate));
        }
    }

    /// <summary>Makes the next <paramref name="times"/> calls of <paramref name="action"/> ("*" = any) fail with <paramref name="code"/>.</summary>
    public void ForceError(string action, string code, int times = 1)
    {
        lock (_gate)
        {
            if (!_forced.TryGetValue(action, out var queue))
            {
                _forced[action] = queue = new Queue<string>();
            }

            for (var i = 0; i < times; i++)
            {
                queue.Enqueue(code);
            }
        }
    }

    /// <summary>Removes every injected fault and latency.</summary>
    public void ClearFaults()
    {
        lock (_gate)
        {
            _errorRates.Clear();
            _forced.Clear();
            _latency.Clear();
            DefaultLatency = TimeSpan.Zero;
        }
    }

    /// <summary>Calls received per action (rejected ones included).</summary>
    public IReadOnlyDictionary<string, long> Counts => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    /// <summary>Calls rejected per error code (throttling and injected faults).</summary>
    public IReadOnlyDictionary<string, long> Rejections => new Dictionary<string, long>(_rejections, StringComparer.Ordinal);

    /// <summary>Total calls received.</summary>
    public long TotalCount => _counts.Values.Sum();

    /// <summary>Forgets the counters (not the faults).</summary>
    public void ResetCounts()
    {
        _counts.Clear();
        _rejections.Clear();
    }

    /// <summary>Admits one request: waits its latency on the clock, then throws a
    /// <see cref="SimulatedEc2Exception"/> if the request is throttled or a fault is due.</summary>
    public async ValueTask EnterAsync(string action, bool filteredOrPaginated, CancellationToken cancellationToken)
    {
        var latency = Admit(action, filteredOrPaginated, out var error);
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _time, cancellationToken).ConfigureAwait(false);
        }

        if (error is not null)
        {
            throw error;
        }
    }

    /// <summary>The synchronous part of <see cref="EnterAsync"/>: counts, decides the outcome, returns the latency.</summary>
    internal TimeSpan Admit(string action, bool filteredOrPaginated, out SimulatedEc2Exception? error)
    {
        ArgumentNullException.ThrowIfNull(action);
        _counts.AddOrUpdate(action, 1, (_, n) => n + 1);
        lock (_gate)
        {
            var latency = _latency.TryGetValue(action, out var l) ? l : DefaultLatency;
            var code = NextFault(action);
            if (code is null && _options.EnforceRequestLimits && !TakeToken(action, filteredOrPaginated))
            {
                code = Ec2ErrorCodes.RequestLimitExceeded;
            }

            error = code is null ? null : new SimulatedEc2Exception(code, MessageFor(code, action));
            if (code is not null)
            {
                _rejections.AddOrUpdate(code, 1, (_, n) => n + 1);
            }

            return latency;
        }
    }

    private string? NextFault(string action)
    {
        foreach (var key in new[] { action, "*" })
        {
            if (_forced.TryGetValue(key, out var queue) && queue.Count > 0)
            {
                return queue.Dequeue();
            }
        }

        foreach (var key in new[] { action, "*" })
        {
            if (_errorRates.TryGetValue(key, out var list))
            {
                foreach (var (code, rate) in list)
                {
                    if (_random.NextDouble() < rate)
                    {
                        return code;
                    }
                }
            }
        }

        return null;
    }

    private bool TakeToken(string action, bool filteredOrPaginated)
    {
        var spec = Ec2RequestLimits.For(action, filteredOrPaginated);
        if (!_buckets.TryGetValue(spec.Name, out var bucket))
        {
            var scale = _options.RequestLimitScale;
            var capacity = Math.Max(1, spec.Capacity * scale);
            _buckets[spec.Name] = bucket = new Bucket(capacity, Math.Max(0.001, spec.RefillPerSecond * scale), capacity, _time.GetTimestamp());
        }

        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
        bucket.Tokens = Math.Min(bucket.Capacity, bucket.Tokens + elapsed * bucket.RefillPerSecond);
        bucket.Stamp = now;
        if (bucket.Tokens < 1)
        {
            return false;
        }

        bucket.Tokens -= 1;
        return true;
    }

    private static string MessageFor(string code, string action) => code switch
    {
        Ec2ErrorCodes.RequestLimitExceeded => "Request limit exceeded.",
        Ec2ErrorCodes.InternalError => "An internal error has occurred",
        Ec2ErrorCodes.UnauthorizedOperation => $"You are not authorized to perform this operation. Action: ec2:{action}",
        _ => $"Injected fault {code} for {action}",
    };

    private sealed class Bucket(double capacity, double refillPerSecond, double tokens, long stamp)
    {
        public double Capacity { get; } = capacity;
        public double RefillPerSecond { get; } = refillPerSecond;
        public double Tokens { get; set; } = tokens;
        public long Stamp { get; set; } = stamp;
    }
}
