using System.Collections.Concurrent;

namespace VpcCni.Aws.Simulation;

/// <summary>
/// The front door of every simulated EC2 request: counts it, applies the configured latency, the
/// account-wide token buckets (RequestLimitExceeded) and injected faults: errors before the action
/// (<see cref="ForceError"/>, <see cref="SetErrorRate"/>), lost replies after it (<see cref="ForceLostReply"/>,
/// <see cref="SetLostReplyRate"/>) and a briefly empty view of the ENIs (<see cref="ForceEmptyDescribe"/>,
/// <see cref="ForceEmptyView"/>). Every switch may be flipped while requests are running. Deterministic under a
/// fake clock and a fixed seed.
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
    private readonly Dictionary<string, double> _lostReplyRates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _forcedLostReplies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lostReplies = new(StringComparer.Ordinal);
    private int _emptyDescribes;
    private DateTimeOffset _emptyViewUntil = DateTimeOffset.MinValue;

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

    /// <summary>
    /// "Committed, then failed": makes a fraction of the calls of <paramref name="action"/> ("*" = every action) be
    /// carried out and then answered with a 500 <c>InternalError</c> (or, over the wire with
    /// <see cref="DropLostReplies"/>, with a dropped connection) — the reply is lost, the change is not. A client that
    /// retries such a call must be idempotent (ClientToken) or find out what happened.
    /// </summary>
    public void SetLostReplyRate(string action, double rate)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1);
        lock (_gate)
        {
            _lostReplyRates[action] = rate;
        }
    }

    /// <summary>Makes the next <paramref name="times"/> admitted calls of <paramref name="action"/> ("*" = any) be carried
    /// out and then lose their reply (see <see cref="SetLostReplyRate"/>).</summary>
    public void ForceLostReply(string action, int times = 1)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfNegative(times);
        lock (_gate)
        {
            _forcedLostReplies[action] = _forcedLostReplies.GetValueOrDefault(action) + times;
        }
    }

    /// <summary>Over the wire, a lost reply is a connection closed without an answer instead of a 500 InternalError.</summary>
    public bool DropLostReplies { get; set; }

    /// <summary>Replies lost so far per action (the action was carried out each time).</summary>
    public IReadOnlyDictionary<string, long> LostReplies => new Dictionary<string, long>(_lostReplies, StringComparer.Ordinal);

    /// <summary>
    /// "Cloud view briefly empty": the next <paramref name="times"/> listing DescribeNetworkInterfaces calls (filters,
    /// not explicit ids) answer an empty list although the ENIs exist, as an eventually consistent EC2 can.
    /// </summary>
    public void ForceEmptyDescribe(int times = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(times);
        lock (_gate)
        {
            _emptyDescribes += times;
        }
    }

    /// <summary>
    /// "Cloud view briefly empty" for <paramref name="duration"/> on the simulation's clock: listing
    /// DescribeNetworkInterfaces calls answer an empty list and IMDS lists no MACs under
    /// <c>network/interfaces/macs/</c>. <see cref="TimeSpan.Zero"/> ends it.
    /// </summary>
    public void ForceEmptyView(TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        lock (_gate)
        {
            _emptyViewUntil = _time.GetUtcNow() + duration;
        }
    }

    /// <summary>Whether IMDS should list no interfaces now (<see cref="ForceEmptyView"/>).</summary>
    public bool IsImdsViewEmpty
    {
        get
        {
            lock (_gate)
            {
                return _time.GetUtcNow() < _emptyViewUntil;
            }
        }
    }

    /// <summary>Called by a listing DescribeNetworkInterfaces: true when it must answer an empty list (consumes one
    /// forced empty describe, if any).</summary>
    internal bool TakeEmptyDescribe()
    {
        lock (_gate)
        {
            if (_time.GetUtcNow() < _emptyViewUntil)
            {
                return true;
            }

            if (_emptyDescribes > 0)
            {
                _emptyDescribes--;
                return true;
            }

            return false;
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
            _lostReplyRates.Clear();
            _forcedLostReplies.Clear();
            _emptyDescribes = 0;
            _emptyViewUntil = DateTimeOffset.MinValue;
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
        _lostReplies.Clear();
    }

    /// <summary>Admits one request: waits its latency on the clock, then throws a
    /// <see cref="SimulatedEc2Exception"/> if the request is throttled or a fault is due. Returns true when the caller
    /// must carry the action out and then lose its reply (<see cref="ForceLostReply"/>).</summary>
    public async ValueTask<bool> EnterAsync(string action, bool filteredOrPaginated, CancellationToken cancellationToken)
    {
        var latency = Admit(action, filteredOrPaginated, out var error, out var loseReply);
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _time, cancellationToken).ConfigureAwait(false);
        }

        if (error is not null)
        {
            throw error;
        }

        return loseReply;
    }

    /// <summary>
    /// Admits one request, carries it out with <paramref name="call"/>, and, when a lost reply is due, throws the
    /// InternalError the client sees instead of the result (the change stays made).
    /// </summary>
    public async ValueTask<T> ExecuteAsync<T>(string action, bool filteredOrPaginated, Func<T> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var loseReply = await EnterAsync(action, filteredOrPaginated, cancellationToken).ConfigureAwait(false);
        var result = call();
        if (loseReply)
        {
            throw LostReplyError(action);
        }

        return result;
    }

    /// <summary>The error a client sees in place of a lost reply.</summary>
    internal static SimulatedEc2Exception LostReplyError(string action) =>
        new(Ec2ErrorCodes.InternalError, $"An internal error has occurred (the {action} request was carried out; its reply was lost)");

    /// <summary>The synchronous part of <see cref="EnterAsync"/>: counts, decides the outcome, returns the latency.</summary>
    internal TimeSpan Admit(string action, bool filteredOrPaginated, out SimulatedEc2Exception? error) =>
        Admit(action, filteredOrPaginated, out error, out _);

    internal TimeSpan Admit(string action, bool filteredOrPaginated, out SimulatedEc2Exception? error, out bool loseReply)
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
            loseReply = false;
            if (code is not null)
            {
                _rejections.AddOrUpdate(code, 1, (_, n) => n + 1);
            }
            else if (NextLostReply(action))
            {
                loseReply = true;
                _lostReplies.AddOrUpdate(action, 1, (_, n) => n + 1);
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

    private bool NextLostReply(string action)
    {
        foreach (var key in new[] { action, "*" })
        {
            if (_forcedLostReplies.TryGetValue(key, out var left) && left > 0)
            {
                _forcedLostReplies[key] = left - 1;
                return true;
            }
        }

        foreach (var key in new[] { action, "*" })
        {
            if (_lostReplyRates.TryGetValue(key, out var rate) && rate > 0 && _random.NextDouble() < rate)
            {
                return true;
            }
        }

        return false;
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
