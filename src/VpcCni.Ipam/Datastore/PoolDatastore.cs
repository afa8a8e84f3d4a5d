using System.Net;
using System.Net.Sockets;

namespace VpcCni.Ipam;

/// <summary>
/// The pod-address datastore of one network card: ENIs, their CIDRs (/32 secondary addresses in secondary-IP mode,
/// /28 prefixes in prefix-delegation mode) and the addresses bound to attachment keys.
/// </summary>
/// <remarks>
/// Thread-safe (one short lock). The ADD/DEL hot path never walks ENIs or CIDRs: free addresses sit in a min-heap
/// ordered by (device number, address), so pods pack onto the lowest ENIs and high ENIs empty out and become
/// deletable; released addresses wait in a FIFO for IP_COOLDOWN_PERIOD (constant, so FIFO order is expiry order).
/// Stats are maintained incrementally. In steady state assign and unassign allocate nothing.
/// Allocations restored from a record whose address no CIDR holds are kept as "unplaced" (never handed out
/// again, never dropped without a DEL or positive evidence the pod is gone); they re-attach when the CIDR reappears.
/// </remarks>
public sealed class PoolDatastore
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly long _cooldownTimestampTicks;
    private readonly Dictionary<string, Eni> _enis = new(StringComparer.Ordinal);
    private readonly Dictionary<AttachmentKey, SlotRef> _byKey = [];
    private readonly Dictionary<AttachmentKey, AllocationRecord> _unplaced = [];
    private readonly PriorityQueue<SlotRef, ulong> _free = new();
    private readonly Queue<SlotRef> _cooling = new();
    private int _freeEntries;
    private int _total;
    private int _assigned;
    private int _coolingCount;
    private int _totalPrefixes;
    private int _freePrefixes;
    private int _coolingFreePrefixes;

    /// <param name="networkCard">The network card this datastore serves.</param>
    /// <param name="prefixDelegation">Hand out addresses from /28 prefixes (PD) instead of /32 secondary addresses.</param>
    /// <param name="cooldown">IP_COOLDOWN_PERIOD: how long a released address is not handed out again.</param>
    /// <param name="timeProvider">Clock.</param>
    internal PoolDatastore(int networkCard, bool prefixDelegation, TimeSpan cooldown, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(cooldown, TimeSpan.Zero);
        NetworkCard = networkCard;
        PrefixDelegation = prefixDelegation;
        Cooldown = cooldown;
        _time = timeProvider;
        _cooldownTimestampTicks = (long)(cooldown.TotalSeconds * timeProvider.TimestampFrequency);
    }

    public int NetworkCard { get; }

    public bool PrefixDelegation { get; }

    public TimeSpan Cooldown { get; }

    /// <summary>Number of ENIs (all kinds).</summary>
    public int EniCount
    {
        get { lock (_lock) { return _enis.Count; } }
    }

    /// <summary>Registers an ENI. Duplicate ids are refused with upstream's message.</summary>
    internal void AddEni(EniRegistration eni)
    {
        ArgumentNullException.ThrowIfNull(eni);
        lock (_lock)
        {
            if (_enis.ContainsKey(eni.Id))
            {
                throw new DatastoreException(DatastoreException.DuplicateEni);
            }

            _enis.Add(eni.Id, new Eni(eni, _time.GetUtcNow()));
        }
    }

    /// <summary>True when the ENI is known.</summary>
    public bool ContainsEni(string eniId)
    {
        lock (_lock)
        {
            return _enis.ContainsKey(eniId);
        }
    }

    /// <summary>Adds a /32 secondary address or a /28 prefix to an ENI. Unplaced restored allocations inside it re-attach.</summary>
    internal void AddCidr(string eniId, IPNetwork cidr)
    {
        var (baseAddress, size) = Decompose(cidr);
        lock (_lock)
        {
            if (!_enis.TryGetValue(eniId, out var eni))
            {
                throw new DatastoreException("add ENI's IP to datastore: unknown ENI");
            }

            foreach (var e in _enis.Values)
            {
                foreach (var c in e.Cidrs)
                {
                    if (c.Overlaps(baseAddress, size))
                    {
                        throw new DatastoreException(DatastoreException.IPAlreadyInStore);
                    }
                }
            }

            var entry = new Cidr(eni, cidr, baseAddress, size);
            eni.Cidrs.Add(entry);
            if (entry.IsPrefix)
            {
                _totalPrefixes++;
                _freePrefixes++;
            }

            // Re-attach allocations restored before this CIDR was known (their pods are live).
            if (_unplaced.Count > 0)
            {
                foreach (var (key, record) in _unplaced.ToArray())
                {
                    var offset = record.Address.Value - baseAddress;
                    if (record.Address.Value >= baseAddress && offset < (uint)size)
                    {
                        _unplaced.Remove(key);
                        BindSlot(entry, (int)offset, key, record.Metadata, record.AllocatedAtUnixNanoseconds);
                    }
                }
            }

            if (IsUsable(entry))
            {
                _total += size;
                _assigned += entry.Assigned;
                for (var i = 0; i < size; i++)
                {
                    if (entry.Slots[i].State == SlotState.Free)
                    {
                        PushFree(entry, i);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Removes a CIDR from an ENI. With <paramref name="force"/> false a CIDR with an assigned address is refused
    /// (upstream's "IP is used" message); with force its allocations are dropped and returned.
    /// </summary>
    internal IReadOnlyList<AllocationRecord> RemoveCidr(string eniId, IPNetwork cidr, bool force)
    {
        lock (_lock)
        {
            if (!_enis.TryGetValue(eniId, out var eni))
            {
                throw new DatastoreException(DatastoreException.UnknownEni);
            }

            var entry = eni.Cidrs.Find(c => c.Network.Equals(cidr)) ?? throw new DatastoreException(DatastoreException.UnknownIP);
            if (entry.Assigned > 0 && !force)
            {
                throw new DatastoreException(DatastoreException.IPInUse);
            }

            var dropped = DetachCidr(entry);
            eni.Cidrs.Remove(entry);
            return dropped;
        }
    }

    /// <summary>
    /// Removes an ENI and its CIDRs. Refused while it holds pods unless <paramref name="force"/>; counters are
    /// decreased exactly once (upstream decreases them twice on the forced path, §8.1.4).
    /// </summary>
    internal IReadOnlyList<AllocationRecord> RemoveEni(string eniId, bool force)
    {
        lock (_lock)
        {
            if (!_enis.TryGetValue(eniId, out var eni))
            {
                throw new DatastoreException(DatastoreException.UnknownEni);
            }

            if (!force && eni.Cidrs.Exists(c => c.Assigned > 0))
            {
                throw new DatastoreException(DatastoreException.EniInUse);
            }

            var dropped = new List<AllocationRecord>();
            foreach (var c in eni.Cidrs)
            {
                dropped.AddRange(DetachCidr(c));
            }

            eni.Cidrs.Clear();
            _enis.Remove(eniId);
            return dropped;
        }
    }

    /// <summary>Marks an ENI excluded (or not) for pod addresses; excluded ENIs leave the stats and the free list.</summary>
    internal void SetExcluded(string eniId, bool excluded) => Reclassify(eniId, excluded, static (eni, on) => eni.IsExcluded = on, static eni => eni.IsExcluded);

    /// <summary>
    /// Prefix delegation only: the ENI's secondary /32 addresses serve pods too (it could get no /28 prefix, so it grew
    /// with /32s). Off again, they leave the stats and the free list like any /32 in PD mode, and the free ones show as
    /// <see cref="EniState.MismatchedFreeCidrs"/> to be given back.
    /// </summary>
    internal void SetAddressFallback(string eniId, bool on)
    {
        if (PrefixDelegation)
        {
            Reclassify(eniId, on, static (eni, value) => eni.AddressFallback = value, static eni => eni.AddressFallback);
        }
    }

    /// <summary>True when the ENI's /32 addresses serve pods in PD mode (<see cref="SetAddressFallback"/>).</summary>
    internal bool IsAddressFallback(string eniId)
    {
        lock (_lock)
        {
            return _enis.TryGetValue(eniId, out var eni) && eni.AddressFallback;
        }
    }

    /// <summary>Changes a flag that decides which of an ENI's CIDRs are usable, moving their counts and free slots with it.</summary>
    private void Reclassify(string eniId, bool value, Action<Eni, bool> set, Func<Eni, bool> get)
    {
        lock (_lock)
        {
            if (!_enis.TryGetValue(eniId, out var eni))
            {
                throw new DatastoreException(DatastoreException.UnknownEni);
            }

            if (get(eni) == value)
            {
                return;
            }

            foreach (var c in eni.Cidrs)
            {
                if (IsUsable(c))
                {
                    _total -= c.Size;
                    _assigned -= c.Assigned;
                    _coolingCount -= c.Cooling;
                }
            }

            set(eni, value);
            foreach (var c in eni.Cidrs)
            {
                if (IsUsable(c))
                {
                    _total += c.Size;
                    _assigned += c.Assigned;
                    _coolingCount += c.Cooling;
                    for (var i = 0; i < c.Size; i++)
                    {
                        if (c.Slots[i].State == SlotState.Free)
                        {
                            PushFree(c, i);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Binds a free address to <paramref name="key"/>. Idempotent: a key that already holds an address gets the
    /// same address back. Never returns an address inside its cooldown.
    /// </summary>
    internal AssignOutcome Assign(in AttachmentKey key, PodMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var existing))
            {
                var c = existing.Cidr;
                return new AssignOutcome(AssignStatus.AlreadyAssigned, new PodAddress(c.Base + (uint)existing.Index), c.Eni.DeviceNumber, c.Eni.RouteTableId, c.Eni.Id);
            }

            if (_unplaced.TryGetValue(key, out var unplaced))
            {
                return new AssignOutcome(AssignStatus.AlreadyAssigned, unplaced.Address, -1, -1, null);
            }

            ReleaseExpiredCooldowns(_time.GetTimestamp());
            while (_free.TryDequeue(out var slot, out _))
            {
                _freeEntries--;
                ref var s = ref slot.Cidr.Slots[slot.Index];
                s.InFreeList = false;
                if (slot.Cidr.Removed || !IsUsable(slot.Cidr) || s.State != SlotState.Free)
                {
                    continue;
                }

                BindSlot(slot.Cidr, slot.Index, key, metadata, UnixNanoseconds(_time.GetUtcNow()));
                _assigned++;
                var eni = slot.Cidr.Eni;
                return new AssignOutcome(AssignStatus.Assigned, new PodAddress(slot.Cidr.Base + (uint)slot.Index), eni.DeviceNumber, eni.RouteTableId, eni.Id);
            }

            return new AssignOutcome(AssignStatus.NoFreeAddress, default, -1, -1, null);
        }
    }

    /// <summary>
    /// Releases the key's address; it cools down for IP_COOLDOWN_PERIOD before reuse. An unknown key (after also
    /// trying upstream's CRI-migration placeholder key) reports <see cref="UnassignStatus.Unknown"/>.
    /// </summary>
    internal UnassignOutcome Unassign(in AttachmentKey key)
    {
        lock (_lock)
        {
            if (!_byKey.Remove(key, out var slot) && !_byKey.Remove(key.ToCriMigrationKey(), out slot))
            {
                if (_unplaced.Remove(key, out var record) || _unplaced.Remove(key.ToCriMigrationKey(), out record))
                {
                    return new UnassignOutcome(UnassignStatus.Released, record.Address, -1, -1, Math.Max(1, record.Metadata.InterfacesCount), null);
                }

                return new UnassignOutcome(UnassignStatus.Unknown, default, -1, -1, 0, null);
            }

            var cidr = slot.Cidr;
            ref var s = ref cidr.Slots[slot.Index];
            var interfaces = Math.Max(1, s.Metadata?.InterfacesCount ?? 1);
            s.Key = default;
            s.Metadata = null;
            cidr.Assigned--;
            var usable = IsUsable(cidr);
            if (usable)
            {
                _assigned--;
            }

            if (_cooldownTimestampTicks > 0)
            {
                s.State = SlotState.Cooling;
                s.CoolUntil = _time.GetTimestamp() + _cooldownTimestampTicks;
                cidr.Cooling++;
                if (usable)
                {
                    _coolingCount++;
                }

                _cooling.Enqueue(slot);
            }
            else
            {
                s.State = SlotState.Free;
                if (usable)
                {
                    PushFree(cidr, slot.Index);
                }
            }

            if (cidr.IsPrefix && cidr.Assigned == 0)
            {
                _freePrefixes++;
                if (cidr.Cooling > 0)
                {
                    _coolingFreePrefixes++;
                }
            }

            var eni = cidr.Eni;
            return new UnassignOutcome(UnassignStatus.Released, new PodAddress(cidr.Base + (uint)slot.Index), eni.DeviceNumber, eni.RouteTableId, interfaces, eni.Id);
        }
    }

    /// <summary>
    /// Puts back an allocation, used to undo an unassign whose durable write failed, and to restore a record.
    /// An address no CIDR holds is kept unplaced (never handed out; re-attached when its CIDR appears).
    /// Returns false when the address is already bound to another key or the key to another address.
    /// </summary>
    internal bool Restore(AllocationRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            if (_byKey.TryGetValue(record.Key, out var existing))
            {
                return existing.Cidr.Base + (uint)existing.Index == record.Address.Value;
            }

            if (_unplaced.TryGetValue(record.Key, out var u))
            {
                return u.Address == record.Address;
            }

            foreach (var eni in _enis.Values)
            {
                foreach (var c in eni.Cidrs)
                {
                    if (!c.Overlaps(record.Address.Value, 1))
                    {
                        continue;
                    }

                    var index = (int)(record.Address.Value - c.Base);
                    ref var s = ref c.Slots[index];
                    if (s.State == SlotState.Assigned)
                    {
                        return false;
                    }

                    BindSlot(c, index, record.Key, record.Metadata, record.AllocatedAtUnixNanoseconds);
                    if (IsUsable(c))
                    {
                        _assigned++;
                    }

                    return true;
                }
            }

            foreach (var other in _unplaced.Values)
            {
                if (other.Address == record.Address)
                {
                    return false;
                }
            }

            _unplaced.Add(record.Key, record);
            return true;
        }
    }

    /// <summary>
    /// Keeps a free address out of use until <paramref name="until"/> (a release recorded before a restart still
    /// cooling). Returns false when no CIDR holds the address or it is assigned.
    /// </summary>
    internal bool HoldInCooldown(PodAddress address, DateTimeOffset until)
    {
        lock (_lock)
        {
            var remaining = until - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            foreach (var eni in _enis.Values)
            {
                foreach (var c in eni.Cidrs)
                {
                    if (!c.Overlaps(address.Value, 1))
                    {
                        continue;
                    }

                    var index = (int)(address.Value - c.Base);
                    ref var s = ref c.Slots[index];
                    if (s.State != SlotState.Free)
                    {
                        return false;
                    }

                    s.State = SlotState.Cooling;
                    s.CoolUntil = _time.GetTimestamp() + (long)(remaining.TotalSeconds * _time.TimestampFrequency);
                    c.Cooling++;
                    if (IsUsable(c))
                    {
                        _coolingCount++;
                    }

                    if (c.IsPrefix && c.Assigned == 0 && c.Cooling == 1)
                    {
                        _coolingFreePrefixes++;
                    }

                    // Shorter than the FIFO's constant cooldown, so it never frees an address early (at worst late).
                    _cooling.Enqueue(new SlotRef(c, index));
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Drops an assignment made by <see cref="Assign"/> whose durable write failed; the address is free again at once.</summary>
    internal void RollbackAssign(in AttachmentKey key)
    {
        lock (_lock)
        {
            if (!_byKey.Remove(key, out var slot))
            {
                return;
            }

            var cidr = slot.Cidr;
            ref var s = ref cidr.Slots[slot.Index];
            s.Key = default;
            s.Metadata = null;
            s.State = SlotState.Free;
            cidr.Assigned--;
            if (cidr.IsPrefix && cidr.Assigned == 0)
            {
                _freePrefixes++;
                if (cidr.Cooling > 0)
                {
                    _coolingFreePrefixes++;
                }
            }

            if (IsUsable(cidr))
            {
                _assigned--;
                PushFree(cidr, slot.Index);
            }
        }
    }

    /// <summary>Upstream-definition statistics (see <see cref="PoolStats"/>).</summary>
    public PoolStats GetStats()
    {
        lock (_lock)
        {
            ReleaseExpiredCooldowns(_time.GetTimestamp());
            return new PoolStats(_total, _assigned, _coolingCount, _totalPrefixes, _freePrefixes, _coolingFreePrefixes);
        }
    }

    /// <summary>A consistent view of every ENI, ordered by device number, for the pool policies.</summary>
    public IReadOnlyList<EniState> GetEniStates()
    {
        lock (_lock)
        {
            ReleaseExpiredCooldowns(_time.GetTimestamp());
            var list = new List<EniState>(_enis.Count);
            foreach (var eni in _enis.Values)
            {
                int cidrs = 0, addresses = 0, assigned = 0, cooling = 0, idle = 0, fallbackAddresses = 0;
                var freeable = new List<IPNetwork>();
                var mismatched = new List<IPNetwork>();
                foreach (var c in eni.Cidrs)
                {
                    if (c.Assigned == 0)
                    {
                        idle++;
                    }

                    if (!IsModeMatching(c))
                    {
                        if (c.Assigned == 0)
                        {
                            mismatched.Add(c.Network);
                        }

                        continue;
                    }

                    cidrs++;
                    addresses += c.Size;
                    assigned += c.Assigned;
                    cooling += c.Cooling;
                    if (c.IsPrefix != PrefixDelegation)
                    {
                        // A fallback /32 in PD mode: it serves pods, but the prefix policy does not release it (it
                        // counts prefixes); it goes back once the ENI gets prefixes again.
                        fallbackAddresses++;
                        continue;
                    }

                    if (c.Assigned == 0 && c.Cooling == 0)
                    {
                        freeable.Add(c.Network);
                    }
                }

                // Release the highest addresses first: the heap hands out the lowest, so these are the coldest.
                freeable.Reverse();
                list.Add(new EniState(eni.Id, eni.DeviceNumber, eni.IsPrimary, eni.IsTrunk, eni.IsEfa, eni.IsExcluded, eni.AddedAt,
                    cidrs, eni.Cidrs.Count, addresses, assigned, cooling, freeable, idle, mismatched)
                {
                    SubnetId = eni.SubnetId,
                    AddressFallback = eni.AddressFallback,
                    FallbackAddresses = fallbackAddresses,
                });
            }

            list.Sort((a, b) => a.DeviceNumber.CompareTo(b.DeviceNumber));
            return list;
        }
    }

    /// <summary>Every mode-matching and other CIDR of an ENI (the datastore's view, for reconcile).</summary>
    public IReadOnlyList<IPNetwork> GetCidrs(string eniId)
    {
        lock (_lock)
        {
            return _enis.TryGetValue(eniId, out var eni) ? eni.Cidrs.ConvertAll(c => c.Network) : throw new DatastoreException(DatastoreException.UnknownEni);
        }
    }

    /// <summary>Ids of all ENIs.</summary>
    public IReadOnlyList<string> GetEniIds()
    {
        lock (_lock)
        {
            return [.. _enis.Keys];
        }
    }

    /// <summary>Every live allocation (placed and unplaced), for the durable record.</summary>
    public IReadOnlyList<AllocationRecord> GetAllocations()
    {
        lock (_lock)
        {
            var list = new List<AllocationRecord>(_byKey.Count + _unplaced.Count);
            foreach (var eni in _enis.Values.OrderBy(e => e.DeviceNumber))
            {
                foreach (var c in eni.Cidrs)
                {
                    for (var i = 0; i < c.Size; i++)
                    {
                        ref var s = ref c.Slots[i];
                        if (s.State == SlotState.Assigned)
                        {
                            list.Add(new AllocationRecord(s.Key, new PodAddress(c.Base + (uint)i), s.AssignedAtUnixNs, s.Metadata ?? PodMetadata.None));
                        }
                    }
                }
            }

            list.AddRange(_unplaced.Values);
            return list;
        }
    }

    /// <summary>Allocations whose address no known CIDR holds (restored, pod presumed live).</summary>
    public IReadOnlyList<AllocationRecord> GetUnplacedAllocations()
    {
        lock (_lock)
        {
            return [.. _unplaced.Values];
        }
    }

    /// <summary>Forgets unplaced allocations whose pods are positively known to be gone.</summary>
    internal int DropUnplaced(Func<AllocationRecord, bool> podIsGone)
    {
        ArgumentNullException.ThrowIfNull(podIsGone);
        lock (_lock)
        {
            var gone = _unplaced.Values.Where(podIsGone).ToList();
            foreach (var r in gone)
            {
                _unplaced.Remove(r.Key);
            }

            return gone.Count;
        }
    }

    /// <summary>The placed allocation of a key with its ENI's device number and route table (CHECK support).</summary>
    public bool TryGetAssignment(in AttachmentKey key, out AllocationRecord record, out int deviceNumber, out int routeTableId)
    {
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var slot))
            {
                ref var s = ref slot.Cidr.Slots[slot.Index];
                record = new AllocationRecord(key, new PodAddress(slot.Cidr.Base + (uint)slot.Index), s.AssignedAtUnixNs, s.Metadata ?? PodMetadata.None);
                deviceNumber = slot.Cidr.Eni.DeviceNumber;
                routeTableId = slot.Cidr.Eni.RouteTableId;
                return true;
            }

            record = null!;
            deviceNumber = -1;
            routeTableId = -1;
            return false;
        }
    }

    /// <summary>Looks up the key's address without changing anything.</summary>
    public bool TryGetAddress(in AttachmentKey key, out PodAddress address)
    {
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var slot))
            {
                address = new PodAddress(slot.Cidr.Base + (uint)slot.Index);
                return true;
            }

            if (_unplaced.TryGetValue(key, out var r))
            {
                address = r.Address;
                return true;
            }

            address = default;
            return false;
        }
    }

    internal static long UnixNanoseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static (uint BaseAddress, int Size) Decompose(IPNetwork cidr)
    {
        if (cidr.BaseAddress.AddressFamily != AddressFamily.InterNetwork || cidr.PrefixLength < 24)
        {
            throw new ArgumentException($"'{cidr}' is not an IPv4 /32 address or /28 prefix (or smaller than /24).", nameof(cidr));
        }

        return (PodAddress.From(cidr.BaseAddress).Value, 1 << (32 - cidr.PrefixLength));
    }

    private bool IsUsable(Cidr c) => !c.Eni.IsExcluded && IsModeMatching(c);

    // PD mode: /28 prefixes, and the /32s of an ENI in address fallback; SIP mode: /32s.
    private bool IsModeMatching(Cidr c) => c.IsPrefix == PrefixDelegation || (PrefixDelegation && c.Eni.AddressFallback);

    private void BindSlot(Cidr c, int index, AttachmentKey key, PodMetadata metadata, long assignedAt)
    {
        ref var s = ref c.Slots[index];
        if (s.State == SlotState.Cooling)
        {
            c.Cooling--;
            if (IsUsable(c))
            {
                _coolingCount--;
            }
        }

        if (c.IsPrefix && c.Assigned == 0)
        {
            _freePrefixes--;
            if (c.Cooling > 0 || s.State == SlotState.Cooling)
            {
                _coolingFreePrefixes--;
            }
        }

        s.State = SlotState.Assigned;
        s.Key = key;
        s.Metadata = metadata;
        s.AssignedAtUnixNs = assignedAt;
        c.Assigned++;
        _byKey[key] = new SlotRef(c, index);
    }

    private List<AllocationRecord> DetachCidr(Cidr c)
    {
        var dropped = new List<AllocationRecord>();
        for (var i = 0; i < c.Size; i++)
        {
            ref var s = ref c.Slots[i];
            if (s.State == SlotState.Assigned)
            {
                dropped.Add(new AllocationRecord(s.Key, new PodAddress(c.Base + (uint)i), s.AssignedAtUnixNs, s.Metadata ?? PodMetadata.None));
                _byKey.Remove(s.Key);
            }
        }

        if (IsUsable(c))
        {
            _total -= c.Size;
            _assigned -= c.Assigned;
            _coolingCount -= c.Cooling;
        }

        if (c.IsPrefix)
        {
            _totalPrefixes--;
            if (c.Assigned == 0)
            {
                _freePrefixes--;
                if (c.Cooling > 0)
                {
                    _coolingFreePrefixes--;
                }
            }
        }

        c.Removed = true;
        c.Assigned = 0;
        c.Cooling = 0;
        CompactFreeListIfStale();
        return dropped;
    }

    private void PushFree(Cidr c, int index)
    {
        ref var s = ref c.Slots[index];
        if (s.InFreeList)
        {
            return;
        }

        s.InFreeList = true;
        _freeEntries++;
        _free.Enqueue(new SlotRef(c, index), ((ulong)(uint)c.Eni.DeviceNumber << 32) | (c.Base + (uint)index));
    }

    private void ReleaseExpiredCooldowns(long now)
    {
        while (_cooling.TryPeek(out var head))
        {
            ref var s = ref head.Cidr.Slots[head.Index];
            if (head.Cidr.Removed || s.State != SlotState.Cooling)
            {
                _cooling.Dequeue();
                continue;
            }

            if (s.CoolUntil > now)
            {
                break;
            }

            _cooling.Dequeue();
            var c = head.Cidr;
            s.State = SlotState.Free;
            c.Cooling--;
            if (c.IsPrefix && c.Assigned == 0 && c.Cooling == 0)
            {
                _coolingFreePrefixes--;
            }

            if (IsUsable(c))
            {
                _coolingCount--;
                PushFree(c, head.Index);
            }
        }
    }

    private void CompactFreeListIfStale()
    {
        if (_freeEntries <= 2 * (_total - _assigned) + 64)
        {
            return;
        }

        var keep = new List<(SlotRef, ulong)>(_freeEntries);
        while (_free.TryDequeue(out var slot, out var priority))
        {
            if (!slot.Cidr.Removed)
            {
                keep.Add((slot, priority));
            }
        }

        _free.EnqueueRange(keep);
        _freeEntries = keep.Count;
    }

    private enum SlotState : byte
    {
        Free,
        Assigned,
        Cooling,
    }

    private struct Slot
    {
        public SlotState State;
        public bool InFreeList;
        public AttachmentKey Key;
        public PodMetadata? Metadata;
        public long AssignedAtUnixNs;
        public long CoolUntil;
    }

    private readonly record struct SlotRef(Cidr Cidr, int Index);

    private sealed class Eni(EniRegistration registration, DateTimeOffset addedAt)
    {
        public string Id { get; } = registration.Id;

        public int DeviceNumber { get; } = registration.DeviceNumber;

        public bool IsPrimary { get; } = registration.IsPrimary;

        public bool IsTrunk { get; } = registration.IsTrunk;

        public bool IsEfa { get; } = registration.IsEfa;

        public int RouteTableId { get; } = registration.RouteTableId;

        public bool IsExcluded { get; set; } = registration.IsExcluded;

        public bool AddressFallback { get; set; }

        public string SubnetId { get; } = registration.SubnetId;

        public DateTimeOffset AddedAt { get; } = addedAt;

        public List<Cidr> Cidrs { get; } = [];
    }

    private sealed class Cidr(Eni eni, IPNetwork network, uint baseAddress, int size)
    {
        public Eni Eni { get; } = eni;

        public IPNetwork Network { get; } = network;

        public uint Base { get; } = baseAddress;

        public int Size { get; } = size;

        public bool IsPrefix { get; } = size > 1;

        public Slot[] Slots { get; } = new Slot[size];

        public int Assigned { get; set; }

        public int Cooling { get; set; }

        public bool Removed { get; set; }

        public bool Overlaps(uint start, int count) => start < Base + (uint)Size && Base < start + (uint)count;
    }
}
