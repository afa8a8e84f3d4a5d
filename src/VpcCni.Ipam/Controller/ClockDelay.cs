namespace VpcCni.Ipam;

/// <summary>
/// A delay on a <see cref="TimeProvider"/> whose continuation can run inline on the thread that fires the timer.
/// On a fake clock this makes <c>Advance</c> run everything that becomes due, deterministically, before it returns
/// (Task.Delay's continuations may hop to the thread pool and miss the advance).
/// </summary>
internal static class ClockDelay
{
    public static Task Wait(TimeProvider time, TimeSpan delay, bool inline, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var state = new DelayState(new TaskCompletionSource(inline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously));
        state.Timer = time.CreateTimer(static s => ((DelayState)s!).Fire(), state, delay, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
        {
            state.Registration = cancellationToken.Register(static s => ((DelayState)s!).Cancel(), state);
        }

        return state.Completion.Task;
    }

    private sealed class DelayState(TaskCompletionSource completion)
    {
        public TaskCompletionSource Completion { get; } = completion;

        public ITimer? Timer { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public void Fire()
        {
            Timer?.Dispose();
            Registration.Dispose();
            Completion.TrySetResult();
        }

        public void Cancel()
        {
            Timer?.Dispose();
            Completion.TrySetCanceled();
        }
    }
}
