namespace VpcCni.Ipam;

/// <summary>What an ADD waiting for the pool to grow needs from the pool.</summary>
internal interface IPoolGrowth
{
    /// <summary>True while the pool loop runs (it is woken); false in embedded use (the waiter runs rounds itself).</summary>
    bool LoopRunning { get; }

    /// <summary>True while an operation that may still add addresses is in flight.</summary>
    bool InFlight { get; }

    /// <summary>Mutating cloud calls made so far.</summary>
    long CloudMutations { get; }

    /// <summary>True when the pool cannot grow for this waiter (policy blocks growth, or a growth failed since it started).</summary>
    bool CannotGrow(DateTimeOffset waitStart);

    /// <summary>Wakes the pool loop.</summary>
    void WakeLoop();

    /// <summary>Runs one pool round.</summary>
    Task RunPoolRoundAsync(CancellationToken cancellationToken);
}

/// <summary>
/// ADDs that found no free address: they wait, bounded, until the pool changes, re-trying at each change, and stop
/// early when nothing in flight can help.
/// </summary>
internal sealed class AssignWaiters
{
    private readonly TimeProvider _time;
    private readonly bool _inlineSignals;
    private readonly TaskCreationOptions _signalOptions;
    private readonly Lock _gate = new();
    private TaskCompletionSource _poolChanged;
    private int _count;

    /// <param name="inlineSignals">Run woken waiters inline on the signalling thread (deterministic on a fake clock).</param>
    public AssignWaiters(TimeProvider time, bool inlineSignals)
    {
        _time = time;
        _inlineSignals = inlineSignals;
        _signalOptions = inlineSignals ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
        _poolChanged = new TaskCompletionSource(_signalOptions);
    }

    /// <summary>ADDs waiting now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The pool changed (grew, was reconciled, or a growth failed): every waiter re-checks.</summary>
    public void SignalPoolChanged()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _poolChanged;
            _poolChanged = new TaskCompletionSource(_signalOptions);
        }

        changed.TrySetResult();
    }

    /// <summary>
    /// Retries <paramref name="tryAssign"/> at each pool change until it finds an address, <paramref name="wait"/> runs
    /// out, or nothing in flight can help; returns the last attempt.
    /// </summary>
    public async ValueTask<AssignOutcome> WaitAsync(Func<AssignOutcome> tryAssign, IPoolGrowth growth, TimeSpan wait, CancellationToken cancellationToken)
    {
        var waitStart = _time.GetUtcNow();
        var deadline = waitStart + wait;
        Interlocked.Increment(ref _count);
        try
        {
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    changed = _poolChanged.Task;
                }

                var outcome = tryAssign();
                if (outcome.Status != AssignStatus.NoFreeAddress)
                {
                    return outcome;
                }

                var remaining = deadline - _time.GetUtcNow();
                if (remaining <= TimeSpan.Zero || (!growth.InFlight && growth.CannotGrow(waitStart)))
                {
                    // Nothing in flight can help: fail now with the reason instead of waiting out the timeout.
                    return outcome;
                }

                Task round = Task.CompletedTask;
                if (!growth.LoopRunning)
                {
                    // No pool loop (embedded use): start a round from here.
                    var before = growth.CloudMutations;
                    round = growth.RunPoolRoundAsync(cancellationToken);
                    if (round.IsCompleted)
                    {
                        await round.ConfigureAwait(false);
                        if (growth.CloudMutations == before && !growth.InFlight)
                        {
                            return tryAssign();
                        }

                        continue;
                    }
                }
                else
                {
                    growth.WakeLoop();
                }

                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = ClockDelay.Wait(_time, remaining, _inlineSignals, delayCancel.Token);
                await (round.IsCompleted ? Task.WhenAny(changed, delay) : Task.WhenAny(changed, delay, round)).ConfigureAwait(false);
                delayCancel.Cancel();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
