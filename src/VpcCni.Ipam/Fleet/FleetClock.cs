namespace VpcCni.Ipam.Fleet;

/// <summary>
/// The fleet simulator's virtual clock: a discrete-event loop over a binary heap of timers, so the cost of a run is the
/// number of events (a cloud answer, a pool loop wake-up, a pod retry), not nodes × ticks: an idle node costs nothing
/// between its own timers. Single-threaded: every continuation runs inline on the thread that calls <see cref="RunUntil"/>.
/// Timers due at the same instant fire in the order they were set, so a run replays exactly.
/// </summary>
internal sealed class FleetClock(DateTimeOffset start) : TimeProvider
{
    private readonly PriorityQueue<Entry, (long Due, long Sequence)> _queue = new();
    private long _now = start.UtcTicks;
    private long _sequence;

    /// <summary>Timers fired so far (a measure of the simulation's work).</summary>
    public long Fired { get; private set; }

    public DateTimeOffset Start { get; } = start;

    /// <summary>Seconds since <see cref="Start"/>.</summary>
    public double Seconds => (_now - Start.UtcTicks) / (double)TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => new(_now, TimeSpan.Zero);

    public override long GetTimestamp() => _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs <paramref name="action"/> at <paramref name="seconds"/> after <see cref="Start"/> (now if past).</summary>
    public void At(double seconds, Action action)
    {
        var due = Start.UtcTicks + (long)(seconds * TimeSpan.TicksPerSecond);
        Push(new Entry(null, 0, action), Math.Max(due, _now));
    }

    /// <summary>Fires every timer due up to <paramref name="seconds"/> after <see cref="Start"/>, in order, then sets the time there.</summary>
    public void RunUntil(double seconds)
    {
        var target = Start.UtcTicks + (long)(seconds * TimeSpan.TicksPerSecond);
        while (_queue.TryPeek(out var entry, out var key) && key.Due <= target)
        {
            _queue.Dequeue();
            if (entry.Timer is { } t && (t.Version != entry.Version || t.Disposed))
            {
                continue; // changed or disposed since it was queued
            }

            _now = Math.Max(_now, key.Due);
            Fired++;
            if (entry.Timer is { } timer)
            {
                if (timer.Period > 0)
                {
                    Push(new Entry(timer, timer.Version, null), _now + timer.Period);
                }
                else
                {
                    timer.Disposed = true;
                }

                timer.Fire();
            }
            else
            {
                entry.Action!();
            }
        }

        _now = Math.Max(_now, target);
    }

    private void Push(Entry entry, long due) => _queue.Enqueue(entry, (due, _sequence++));

    private sealed record Entry(Timer? Timer, int Version, Action? Action);

    private sealed class Timer(FleetClock clock, TimerCallback callback, object? state) : ITimer
    {
        public int Version { get; private set; }

        public long Period { get; private set; }

        public bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Version++;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                Disposed = true;
                return true;
            }

            Disposed = false;
            Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            clock.Push(new Entry(this, Version, null), clock._now + Math.Max(0, dueTime.Ticks));
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            Version++;
            Disposed = true;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
