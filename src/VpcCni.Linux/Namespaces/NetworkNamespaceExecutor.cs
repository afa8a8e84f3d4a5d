using System.Collections.Concurrent;

namespace VpcCni.Linux.Namespaces;

/// <summary>
/// Runs synchronous work inside a network namespace: inline when the calling thread is already in it, else on a
/// dedicated thread (never a pool thread). The worker switches in, runs, and switches back; if switching back fails the worker is poisoned and
/// exits, and a fresh worker takes over. Only synchronous delegates are accepted: an await would resume
/// on another thread in the wrong namespace. <see cref="CallingThread"/> switches the caller's own thread instead.
/// </summary>
public sealed class NetworkNamespaceExecutor : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = new();
    private readonly Lock _lock = new();
    private int _workerCount;
    private Thread? _worker;
    private readonly bool _onCallingThread;
    private bool _disposed;

    public NetworkNamespaceExecutor()
    {
    }

    private NetworkNamespaceExecutor(bool onCallingThread) => _onCallingThread = onCallingThread;

    /// <summary>A process-wide executor.</summary>
    public static NetworkNamespaceExecutor Shared { get; } = new();

    /// <summary>
    /// Switches the calling thread itself into the namespace for the call and back after it: no worker thread and no
    /// hand-off, for a process that lives for one short task (a CNI plugin), where starting a thread is a measurable
    /// share of the whole run. If the thread cannot switch back, the process is ended: it must not go on in the
    /// wrong namespace, and unlike a worker the calling thread cannot simply be abandoned.
    /// </summary>
    public static NetworkNamespaceExecutor CallingThread { get; } = new(onCallingThread: true);

    /// <summary>Number of worker threads started so far (a poisoned worker is replaced).</summary>
    public int WorkersStarted => Volatile.Read(ref _workerCount);

    /// <summary>Runs <paramref name="work"/> inside <paramref name="target"/> and returns its result (or rethrows).</summary>
    public TResult Invoke<TState, TResult>(NetworkNamespace target, Func<TState, TResult> work, TState state)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(work);
        if (target.IsCurrentThreadNamespace())
        {
            // Already there (host-side work, usually): run here, with no thread hand-off and no setns round trip.
            return work(state);
        }

        if (_onCallingThread)
        {
            return InvokeOnCallingThread(target, work, state);
        }

        var item = new WorkItem<TState, TResult>(target, work, state);
        Enqueue(item);
        item.Done.Wait();
        item.Done.Dispose();
        if (item.Failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(item.Failure);
        }

        return item.Result!;
    }

    /// <summary>Runs <paramref name="work"/> inside <paramref name="target"/>.</summary>
    public void Invoke(NetworkNamespace target, Action work) =>
        Invoke(target, static w => { w(); return 0; }, work);

    private static TResult InvokeOnCallingThread<TState, TResult>(NetworkNamespace target, Func<TState, TResult> work, TState state)
    {
        using var home = NetworkNamespace.OpenCurrentThread();
        target.EnterOnCurrentThread();
        try
        {
            return work(state);
        }
        finally
        {
            try
            {
                home.EnterOnCurrentThread();
            }
            catch (IOException ex)
            {
                Environment.FailFast($"Could not return the calling thread to its network namespace: {ex.Message}", ex);
            }
        }
    }

    private void Enqueue(WorkItem item)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_worker is null || !_worker.IsAlive)
            {
                StartWorker();
            }

            _queue.Add(item);
        }
    }

    private void StartWorker()
    {
        var id = Interlocked.Increment(ref _workerCount);
        _worker = new Thread(WorkerLoop) { IsBackground = true, Name = $"vpccni-netns-{id}" };
        _worker.Start();
    }

    private void WorkerLoop()
    {
        using var home = NetworkNamespace.OpenCurrentThread();
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            var entered = false;
            try
            {
                item.Target.EnterOnCurrentThread();
                entered = true;
                item.Run();
            }
            catch (Exception ex)
            {
                item.Fail(ex);
            }

            if (entered)
            {
                try
                {
                    home.EnterOnCurrentThread();
                }
                catch (IOException)
                {
                    // Poisoned: this thread is stuck in a foreign namespace. Let it die; the next Invoke starts a new worker.
                    lock (_lock)
                    {
                        _worker = null;
                        if (_queue.Count > 0 && !_disposed)
                        {
                            StartWorker();
                        }
                    }

                    item.Complete();
                    return;
                }
            }

            item.Complete();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _queue.CompleteAdding();
        }
    }

    private abstract class WorkItem(NetworkNamespace target)
    {
        public NetworkNamespace Target { get; } = target;

        public ManualResetEventSlim Done { get; } = new();

        public Exception? Failure { get; private set; }

        public abstract void Run();

        public void Fail(Exception ex) => Failure = ex;

        public void Complete() => Done.Set();
    }

    private sealed class WorkItem<TState, TResult>(NetworkNamespace target, Func<TState, TResult> work, TState state) : WorkItem(target)
    {
        public TResult? Result { get; private set; }

        public override void Run() => Result = work(state);
    }
}
