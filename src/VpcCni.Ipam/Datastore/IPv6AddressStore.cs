using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VpcCni.Ipam;

/// <summary>A pod's IPv6 address and who holds it.</summary>
/// <param name="Key">The CNI attachment.</param>
/// <param name="Address">The /128 handed to the pod.</param>
/// <param name="EniId">The ENI whose /80 prefix holds it.</param>
/// <param name="DeviceNumber">That ENI's device number (0: the primary ENI, whose pods route through the main table).</param>
/// <param name="AllocatedAtUnixNanoseconds">When it was assigned (the checkpoint's allocationTimestamp).</param>
/// <param name="Metadata">The pod, when known.</param>
public sealed record IPv6Allocation(AttachmentKey Key, IPAddress Address, string EniId, int DeviceNumber, long AllocatedAtUnixNanoseconds, PodMetadata Metadata);

/// <summary>The outcome of an IPv6 assign: the allocation, or why there is none.</summary>
public readonly record struct IPv6AssignResult(AssignFailureReason Failure, IPv6Allocation? Allocation, bool Reused, string? Detail)
{
    public bool Succeeded => Failure == AssignFailureReason.None;
}

/// <summary>
/// The IPv6 address store of an IPv6 cluster (upstream §2.20): pods get /128 addresses out of the ENIs' /80 prefixes.
/// There is no warm pool and nothing to return to EC2: a /80 holds 2^48 addresses. Assign is idempotent per
/// attachment key; a released address is not handed out again within the cooldown (IP_COOLDOWN_PERIOD), and the
/// next address to try moves forward round the prefix, so a released one is the last to be reused. Thread-safe.
/// </summary>
public sealed class IPv6AddressStore
{
    private readonly Lock _gate = new();
    private readonly List<PrefixState> _prefixes = [];
    private readonly Dictionary<AttachmentKey, IPv6Allocation> _byKey = [];
    private readonly HashSet<UInt128> _assigned = [];
    private readonly Dictionary<UInt128, DateTimeOffset> _releasedAt = [];
    private readonly TimeSpan _cooldown;
    private readonly TimeProvider _time;

    /// <param name="cooldown">How long a released address is not handed out again.</param>
    /// <param name="timeProvider">The clock of the cooldown and of allocation timestamps.</param>
    public IPv6AddressStore(TimeSpan cooldown, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cooldown, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _cooldown = cooldown;
        _time = timeProvider;
    }

    /// <summary>The prefixes addresses are taken from, in the order they were added.</summary>
    public IReadOnlyList<IPNetwork> Prefixes
    {
        get
        {
            lock (_gate)
            {
                return [.. _prefixes.Select(p => p.Prefix)];
            }
        }
    }

    /// <summary>The addresses held by pods, in key order.</summary>
    public IReadOnlyList<IPv6Allocation> Allocations
    {
        get
        {
            lock (_gate)
            {
                return [.. _byKey.Values.OrderBy(a => a.Key.ToString(), StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>How many addresses pods hold.</summary>
    public int AssignedCount
    {
        get
        {
            lock (_gate)
            {
                return _byKey.Count;
            }
        }
    }

    /// <summary>Released addresses still in their cooldown.</summary>
    public int CoolingCount
    {
        get
        {
            lock (_gate)
            {
                PruneCooled(_time.GetUtcNow());
                return _releasedAt.Count;
            }
        }
    }

    /// <summary>Addresses the prefixes hold in all (the all-zero host number of each prefix is never used).</summary>
    public UInt128 Capacity
    {
        get
        {
            lock (_gate)
            {
                var total = UInt128.Zero;
                foreach (var p in _prefixes)
                {
                    total += p.Size - 1;
                }

                return total;
            }
        }
    }

    /// <summary>Adds an ENI's IPv6 prefix. Adding one already known changes nothing.</summary>
    public void AddPrefix(string eniId, int deviceNumber, IPNetwork prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        if (prefix.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6 || prefix.PrefixLength is < 64 or > 127)
        {
            throw new ArgumentException($"{prefix} is not an IPv6 prefix of /64 to /127", nameof(prefix));
        }

        lock (_gate)
        {
            if (_prefixes.Any(p => p.Prefix == prefix))
            {
                return;
            }

            _prefixes.Add(new PrefixState(eniId, deviceNumber, prefix));
        }
    }

    /// <summary>The ENI a known prefix belongs to; null for an unknown prefix.</summary>
    public string? EniOf(IPNetwork prefix)
    {
        lock (_gate)
        {
            return _prefixes.FirstOrDefault(p => p.Prefix == prefix)?.EniId;
        }
    }

    /// <summary>The allocation of a key, if it holds one.</summary>
    public IPv6Allocation? Find(AttachmentKey key)
    {
        lock (_gate)
        {
            return _byKey.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Binds an address to the key: the one it already holds (<see cref="IPv6AssignResult.Reused"/>), else the next free
    /// one that is not cooling down. Fails with <see cref="AssignFailureReason.NoRoom"/> when there is no prefix or every
    /// address is taken or cooling.
    /// </summary>
    public IPv6AssignResult Assign(AttachmentKey key, PodMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        lock (_gate)
        {
            if (_byKey.TryGetValue(key, out var held))
            {
                return new IPv6AssignResult(AssignFailureReason.None, held, true, null);
            }

            var now = _time.GetUtcNow();
            PruneCooled(now);
            foreach (var prefix in _prefixes)
            {
                if (prefix.TryTake(_assigned, _releasedAt, out var value))
                {
                    var allocation = new IPv6Allocation(key, ToAddress(value), prefix.EniId, prefix.DeviceNumber, PoolDatastore.UnixNanoseconds(now), metadata);
                    _assigned.Add(value);
                    _byKey.Add(key, allocation);
                    return new IPv6AssignResult(AssignFailureReason.None, allocation, false, null);
                }
            }

            return new IPv6AssignResult(AssignFailureReason.NoRoom, null, false,
                _prefixes.Count == 0 ? "no IPv6 prefix on the ENI yet" : "every address of the IPv6 prefix is assigned or cooling down");
        }
    }

    /// <summary>
    /// Releases the key's address (falling back to upstream's CRI-migration key, as the IPv4 datastore); its cooldown
    /// starts now. Null when the key holds nothing.
    /// </summary>
    public IPv6Allocation? Unassign(AttachmentKey key)
    {
        lock (_gate)
        {
            if (!_byKey.Remove(key, out var allocation) && !_byKey.Remove(key.ToCriMigrationKey(), out allocation))
            {
                return null;
            }

            var value = ToValue(allocation.Address);
            _assigned.Remove(value);
            _releasedAt[value] = _time.GetUtcNow();
            return allocation;
        }
    }

    /// <summary>Puts back an allocation undone before it was acknowledged (a failed checkpoint write), as if never made.</summary>
    internal void Forget(IPv6Allocation allocation)
    {
        lock (_gate)
        {
            if (_byKey.Remove(allocation.Key))
            {
                _assigned.Remove(ToValue(allocation.Address));
            }
        }
    }

    /// <summary>
    /// Restores a recorded allocation (restart): bound to its key with its timestamp and metadata, on the prefix that
    /// holds it. False when no known prefix holds the address (upstream drops it as stale); throws when the address or
    /// the key is already taken.
    /// </summary>
    public bool Restore(AttachmentKey key, IPAddress address, long allocatedAtUnixNanoseconds, PodMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(metadata);
        lock (_gate)
        {
            var prefix = _prefixes.FirstOrDefault(p => p.Prefix.Contains(address));
            if (prefix is null)
            {
                return false;
            }

            var value = ToValue(address);
            if (_assigned.Contains(value) || _byKey.ContainsKey(key))
            {
                throw new InvalidOperationException($"datastore: IP already in data store ({address} for {key})");
            }

            _assigned.Add(value);
            _byKey.Add(key, new IPv6Allocation(key, address, prefix.EniId, prefix.DeviceNumber, allocatedAtUnixNanoseconds, metadata));
            return true;
        }
    }

    /// <summary>Puts back a released allocation whose release could not be recorded (the pod keeps it).</summary>
    internal void Reinstate(IPv6Allocation allocation)
    {
        lock (_gate)
        {
            var value = ToValue(allocation.Address);
            _releasedAt.Remove(value);
            _assigned.Add(value);
            _byKey[allocation.Key] = allocation;
        }
    }

    private void PruneCooled(DateTimeOffset now)
    {
        if (_releasedAt.Count == 0)
        {
            return;
        }

        foreach (var (value, at) in _releasedAt.ToList())
        {
            if (now - at >= _cooldown)
            {
                _releasedAt.Remove(value);
            }
        }
    }

    internal static UInt128 ToValue(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    internal static IPAddress ToAddress(UInt128 value)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    /// <summary>One prefix and the host number to try next.</summary>
    private sealed class PrefixState(string eniId, int deviceNumber, IPNetwork prefix)
    {
        public string EniId { get; } = eniId;
        public int DeviceNumber { get; } = deviceNumber;
        public IPNetwork Prefix { get; } = prefix;
        public UInt128 Base { get; } = ToValue(prefix.BaseAddress);
        public UInt128 Size { get; } = UInt128.One << (128 - prefix.PrefixLength);
        private UInt128 _next = UInt128.One;

        /// <summary>The next host number not assigned and not cooling, moving round the prefix; false when none.</summary>
        public bool TryTake(HashSet<UInt128> assigned, Dictionary<UInt128, DateTimeOffset> cooling, out UInt128 value)
        {
            // Busy addresses of this prefix bound the scan: a free one is found within busy + 1 steps.
            UInt128 taken = 0;
            foreach (var a in assigned)
            {
                if (a >= Base && a - Base < Size)
                {
                    taken++;
                }
            }

            foreach (var c in cooling.Keys)
            {
                if (c >= Base && c - Base < Size)
                {
                    taken++;
                }
            }

            var usable = Size - 1;
            if (taken >= usable)
            {
                value = default;
                return false;
            }

            for (UInt128 step = 0; step <= taken; step++)
            {
                var candidate = Base + _next;
                _next = _next + 1 >= Size ? UInt128.One : _next + 1;
                if (!assigned.Contains(candidate) && !cooling.ContainsKey(candidate))
                {
                    value = candidate;
                    return true;
                }
            }

            value = default;
            return false;
        }
    }
}
