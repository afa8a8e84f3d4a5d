using System.Net;

namespace VpcCni.Lab.Chaos;

/// <summary>A pod sandbox the chaos runtime created on a node.</summary>
internal sealed class ChaosPod(int node, string name, string containerId)
{
    public int Node { get; } = node;

    /// <summary>Short namespace name (the lab prefixes it).</summary>
    public string Name { get; } = name;

    public string ContainerId { get; } = containerId;

    /// <summary>The address the plugin acknowledged (null until ADD succeeded).</summary>
    public IPAddress? Address { get; set; }

    /// <summary>Kept running to the end of the storm (it must survive every fault).</summary>
    public bool Kept { get; set; }
}

/// <summary>
/// What the container runtime believes: sandboxes in flight and pods running, per node, plus the runtime's rule
/// that GC runs exclusively (no ADD or DEL in flight on that node, CNI spec GC-7).
/// </summary>
internal sealed class RuntimeView
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ChaosPod> _sandboxes = new(StringComparer.Ordinal);
    private readonly Dictionary<int, NodeGate> _nodeGates = [];

    public RuntimeView(int nodes)
    {
        for (var node = 1; node <= nodes; node++)
        {
            _nodeGates[node] = new NodeGate();
        }
    }

    /// <summary>A sandbox exists from before its ADD until after its DEL succeeded.</summary>
    public void Begin(ChaosPod pod)
    {
        lock (_gate)
        {
            _sandboxes.Add(pod.ContainerId, pod);
        }
    }

    /// <summary>Records an acknowledged ADD; returns a running pod that already holds the address (a duplicate), if any.</summary>
    public ChaosPod? Acknowledge(ChaosPod pod, IPAddress address)
    {
        lock (_gate)
        {
            var holder = _sandboxes.Values.FirstOrDefault(p => p != pod && address.Equals(p.Address));
            pod.Address = address;
            return holder;
        }
    }

    public void End(ChaosPod pod)
    {
        lock (_gate)
        {
            _sandboxes.Remove(pod.ContainerId);
        }
    }

    /// <summary>Container ids the runtime still knows on a node (GC's valid attachments).</summary>
    public IReadOnlyList<string> ValidOn(int node)
    {
        lock (_gate)
        {
            return [.. _sandboxes.Values.Where(p => p.Node == node).Select(p => p.ContainerId)];
        }
    }

    /// <summary>Pods whose ADD was acknowledged and whose DEL has not succeeded.</summary>
    public IReadOnlyList<ChaosPod> Running()
    {
        lock (_gate)
        {
            return [.. _sandboxes.Values.Where(p => p.Address is not null)];
        }
    }

    public int KeptOn(int node)
    {
        lock (_gate)
        {
            return _sandboxes.Values.Count(p => p.Node == node && p.Kept);
        }
    }

    /// <summary>Held around each ADD or DEL on a node.</summary>
    public Task<IDisposable> EnterOperationAsync(int node, CancellationToken cancellationToken) => _nodeGates[node].EnterAsync(exclusive: false, cancellationToken);

    /// <summary>Held around GC on a node: waits until no ADD or DEL is in flight there and keeps new ones out.</summary>
    public Task<IDisposable> EnterGarbageCollectionAsync(int node, CancellationToken cancellationToken) => _nodeGates[node].EnterAsync(exclusive: true, cancellationToken);

    /// <summary>Shared for ADD/DEL, exclusive for GC.</summary>
    private sealed class NodeGate
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _shared;
        private bool _exclusive;

        public async Task<IDisposable> EnterAsync(bool exclusive, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (!_exclusive)
                    {
                        if (!exclusive)
                        {
                            _shared++;
                            return new Releaser(this, exclusive: false);
                        }

                        _exclusive = true;
                        break;
                    }

                    changed = _changed.Task;
                }

                await changed.WaitAsync(cancellationToken);
            }

            try
            {
                while (true)
                {
                    Task changed;
                    lock (_gate)
                    {
                        if (_shared == 0)
                        {
                            return new Releaser(this, exclusive: true);
                        }

                        changed = _changed.Task;
                    }

                    await changed.WaitAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                Release(exclusive: true);
                throw;
            }
        }

        private void Release(bool exclusive)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                if (exclusive)
                {
                    _exclusive = false;
                }
                else
                {
                    _shared--;
                }

                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }

        private sealed class Releaser(NodeGate gate, bool exclusive) : IDisposable
        {
            private int _released;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    gate.Release(exclusive);
                }
            }
        }
    }
}
