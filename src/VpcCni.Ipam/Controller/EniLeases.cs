namespace VpcCni.Ipam;

/// <summary>
/// At most one mutating operation per ENI: an operation takes the ENI's lease or, when another holds it, skips the
/// ENI (the next round or reconcile looks again). Operations on distinct ENIs run concurrently.
/// </summary>
/// <remarks>
/// Never waits: a busy ENI is work someone else is already doing, and a pool round must not stall behind a slow
/// cloud call. A lease releases only itself, so disposing it twice (an early release before a reconcile, then the
/// scope's end) cannot free a lease another operation took in between.
/// </remarks>
internal sealed class EniLeases
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, EniLease> _held = new(StringComparer.Ordinal);

    /// <summary>True while any ENI is leased (an operation that may still change the pool is in flight).</summary>
    public bool AnyHeld
    {
        get
        {
            lock (_gate)
            {
                return _held.Count > 0;
            }
        }
    }

    /// <summary>Leases the ENI, or returns null when another operation holds it.</summary>
    public EniLease? TryAcquire(string eniId)
    {
        ArgumentNullException.ThrowIfNull(eniId);
        lock (_gate)
        {
            if (_held.ContainsKey(eniId))
            {
                return null;
            }

            var lease = new EniLease(this, eniId);
            _held.Add(eniId, lease);
            return lease;
        }
    }

    /// <summary>True when the ENI is leased now.</summary>
    public bool IsHeld(string eniId)
    {
        lock (_gate)
        {
            return _held.ContainsKey(eniId);
        }
    }

    private void Release(EniLease lease)
    {
        lock (_gate)
        {
            if (_held.TryGetValue(lease.EniId, out var holder) && ReferenceEquals(holder, lease))
            {
                _held.Remove(lease.EniId);
            }
        }
    }

    /// <summary>The right to change one ENI; dispose to release (idempotent).</summary>
    internal sealed class EniLease : IDisposable
    {
        private EniLeases? _owner;

        internal EniLease(EniLeases owner, string eniId)
        {
            _owner = owner;
            EniId = eniId;
        }

        public string EniId { get; }

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release(this);
    }
}
