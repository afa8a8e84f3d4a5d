using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// A small deterministic in-memory <see cref="IEniProvider"/> for planning (and unit tests of the engine): one
/// instance with the given limits in one subnet with a finite number of free addresses. It enforces the per-ENI
/// and per-instance limits with the cloud's error kinds and supports fault injection. It is NOT the simulated VPC
/// (no latency, IMDS lag, fragmentation or token buckets); wrap it in <see cref="LatencyEniProvider"/> for latencies.
/// </summary>
internal sealed class InMemoryPlanningCloud : IEniProvider
{
    private const string InstanceIdTag = "node.k8s.amazonaws.com/instance_id";
    private readonly Lock _lock = new();
    private readonly InstanceLimits _limits;
    private readonly IPNetwork _subnet;
    private readonly Dictionary<string, EniRecord> _enis = new(StringComparer.Ordinal);
    private readonly SortedSet<uint> _freeAddresses = [];
    private int _nextEni = 1;

    /// <param name="limits">Instance type limits.</param>
    /// <param name="subnetFreeAddresses">Free addresses in the subnet (the primary address excluded); /28s are carved from them.</param>
    public InMemoryPlanningCloud(InstanceLimits limits, int subnetFreeAddresses = 60000)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
        _subnet = new IPNetwork(IPAddress.Parse("10.0.0.0"), 16);
        const uint baseAddress = 0x0A000000;
        var primary = baseAddress + 10;
        for (uint i = 16; i < 16 + (uint)Math.Min(subnetFreeAddresses, 65000); i++)
        {
            _freeAddresses.Add(baseAddress + i);
        }

        Identity = new InstanceIdentity("i-0123456789abcdef0", limits.InstanceType, "us-west-2a", "02:00:00:00:00:00",
            new PodAddress(primary).ToIPAddress(), "eni-primary", "subnet-a", _subnet, ["sg-1"], [_subnet]);
        _enis["eni-primary"] = new EniRecord("eni-primary", 0, primary);
    }

    public InstanceIdentity Identity { get; }

    /// <summary>Called before every operation with its name; a returned exception is thrown instead of doing it.</summary>
    public Func<string, CloudException?>? FaultInjector { get; set; }

    /// <summary>
    /// Fragments the subnet as other tenants' addresses do: takes the last address of every free aligned /28, so a
    /// prefix request fails with InsufficientCidrBlocks while addresses remain. The returned action gives them back.
    /// </summary>
    public Action Fragment()
    {
        lock (_lock)
        {
            var taken = _freeAddresses.Where(a => (a & 15) == 15).ToList();
            foreach (var a in taken)
            {
                _freeAddresses.Remove(a);
            }

            return () =>
            {
                lock (_lock)
                {
                    foreach (var a in taken)
                    {
                        _freeAddresses.Add(a);
                    }
                }
            };
        }
    }

    /// <summary>Secondary /32 addresses and /28 prefixes of an ENI, as the cloud has them.</summary>
    public IReadOnlyList<IPNetwork> CidrsOf(string eniId)
    {
        lock (_lock)
        {
            return [.. Find(eniId).Cidrs];
        }
    }

    /// <summary>Number of calls per operation name.</summary>
    public IReadOnlyDictionary<string, int> Calls
    {
        get { lock (_lock) { return new Dictionary<string, int>(_calls); } }
    }

    private readonly Dictionary<string, int> _calls = [];

    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Identity);

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        instanceType == _limits.InstanceType
            ? ValueTask.FromResult(_limits)
            : ValueTask.FromException<InstanceLimits>(new CloudException(CloudErrorKind.NotFound, $"unknown instance type {instanceType}"));

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Enter("DescribeInstanceEnis");
            return ValueTask.FromResult<IReadOnlyList<NetworkInterface>>([.. _enis.Values.OrderBy(e => e.DeviceIndex).Select(ToModel)]);
        }
    }

    public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            Enter("CreateAndAttachEni");
            if (_enis.Count >= _limits.MaxEnis)
            {
                throw new CloudException(CloudErrorKind.AttachmentLimitExceeded, $"instance already has {_limits.MaxEnis} ENIs", "AttachmentLimitExceeded");
            }

            // Device indexes count per card; card 0's index 0 is the primary ENI.
            var card = request.NetworkCardIndex;
            var device = Enumerable.Range(card == 0 ? 1 : 0, _limits.MaxEnis + 1).First(d => _enis.Values.All(e => e.NetworkCard != card || e.DeviceIndex != d));
            var primary = TakeAddresses(1, aligned: false)[0];
            var eni = new EniRecord($"eni-{_nextEni++:x8}", device, primary)
            {
                NetworkCard = card,
                Tags = new Dictionary<string, string> { [InstanceIdTag] = Identity.InstanceId },
            };
            _enis[eni.Id] = eni;
            try
            {
                AssignCore(eni, request.Unit, request.Count);
            }
            catch (CloudException)
            {
                // The provider contract: undo what was created.
                _enis.Remove(eni.Id);
                _freeAddresses.Add(primary);
                throw;
            }

            return ValueTask.FromResult(ToModel(eni));
        }
    }

    public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Enter("Assign");
            var eni = Find(eniId);
            return ValueTask.FromResult<IReadOnlyList<IPNetwork>>(AssignCore(eni, unit, count));
        }
    }

    public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        if (cidrs.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        lock (_lock)
        {
            Enter("Unassign");
            var eni = Find(eniId);
            foreach (var cidr in cidrs)
            {
                var start = PodAddress.From(cidr.BaseAddress).Value;
                if (eni.Cidrs.Remove(cidr))
                {
                    for (uint i = 0; i < 1u << (32 - cidr.PrefixLength); i++)
                    {
                        _freeAddresses.Add(start + i);
                    }
                }
            }

            return ValueTask.CompletedTask;
        }
    }

    public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Enter("DetachAndDeleteEni");
            if (_enis.TryGetValue(eniId, out var eni))
            {
                if (eni.DeviceIndex == 0)
                {
                    throw new CloudException(CloudErrorKind.Other, "the primary ENI cannot be detached", "OperationNotPermitted");
                }

                ReleaseAll(eni);
                _enis.Remove(eniId);
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Adds the instance-id tag to an ENI that lacks it (the real provider adds its ownership tags).</summary>
    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        lock (_lock)
        {
            Enter("EnsureEniTags");
            var record = Find(eni.Id);
            if (record.Tags is null || !record.Tags.ContainsKey(InstanceIdTag))
            {
                record.Tags = new Dictionary<string, string>(record.Tags ?? new Dictionary<string, string>()) { [InstanceIdTag] = Identity.InstanceId };
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Out-of-band change: the ENI's subnet becomes excluded from pod addresses (or no longer is).</summary>
    public void SetExcludedOutOfBand(string eniId, bool excluded)
    {
        lock (_lock)
        {
            Find(eniId).IsExcluded = excluded;
        }
    }

    /// <summary>Out-of-band change: an ENI disappears (detached by someone else).</summary>
    public void DetachOutOfBand(string eniId)
    {
        lock (_lock)
        {
            ReleaseAll(Find(eniId));
            _enis.Remove(eniId);
        }
    }

    /// <summary>Out-of-band change: a CIDR is taken away from an ENI.</summary>
    public void RemoveCidrOutOfBand(string eniId, IPNetwork cidr)
    {
        lock (_lock)
        {
            Find(eniId).Cidrs.Remove(cidr);
        }
    }

    /// <summary>Out-of-band change: a CIDR is given to an ENI (e.g. restored).</summary>
    public void AddCidrOutOfBand(string eniId, IPNetwork cidr)
    {
        lock (_lock)
        {
            var start = PodAddress.From(cidr.BaseAddress).Value;
            for (uint i = 0; i < 1u << (32 - cidr.PrefixLength); i++)
            {
                _freeAddresses.Remove(start + i);
            }

            Find(eniId).Cidrs.Add(cidr);
        }
    }

    /// <summary>Attaches an ENI with the given CIDRs and tags directly (e.g. an unmanaged ENI).</summary>
    public string AttachOutOfBand(IReadOnlyList<IPNetwork> cidrs, IReadOnlyDictionary<string, string>? tags = null, EniKind kind = EniKind.Interface)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        lock (_lock)
        {
            var device = Enumerable.Range(1, _limits.MaxEnis).First(d => _enis.Values.All(e => e.NetworkCard != 0 || e.DeviceIndex != d));
            var eni = new EniRecord($"eni-{_nextEni++:x8}", device, TakeAddresses(1, false)[0]) { Tags = tags, Kind = kind };
            foreach (var c in cidrs)
            {
                eni.Cidrs.Add(c);
            }

            _enis[eni.Id] = eni;
            return eni.Id;
        }
    }

    private List<IPNetwork> AssignCore(EniRecord eni, AddressUnit unit, int count)
    {
        if (count <= 0)
        {
            return [];
        }

        var perEni = _limits.IPv4PerEni - 1;
        if (eni.Cidrs.Count + count > perEni)
        {
            throw new CloudException(CloudErrorKind.EniAddressLimitExceeded, $"ENI {eni.Id} can hold {perEni} more addresses or prefixes", "PrivateIpAddressLimitExceeded");
        }

        var list = new List<IPNetwork>(count);
        try
        {
            TakeUnits(unit, count, list);
        }
        catch (CloudException)
        {
            // All or nothing, like EC2: give back what was taken.
            foreach (var c in list)
            {
                var start = PodAddress.From(c.BaseAddress).Value;
                for (uint i = 0; i < 1u << (32 - c.PrefixLength); i++)
                {
                    _freeAddresses.Add(start + i);
                }
            }

            throw;
        }

        foreach (var c in list)
        {
            eni.Cidrs.Add(c);
        }

        return list;
    }

    private void TakeUnits(AddressUnit unit, int count, List<IPNetwork> list)
    {
        for (var i = 0; i < count; i++)
        {
            if (unit == AddressUnit.IPv4Prefix)
            {
                var start = TakeAddresses(16, aligned: true)[0];
                list.Add(new IPNetwork(new PodAddress(start).ToIPAddress(), 28));
            }
            else
            {
                list.Add(new IPNetwork(new PodAddress(TakeAddresses(1, false)[0]).ToIPAddress(), 32));
            }
        }
    }

    private uint[] TakeAddresses(int count, bool aligned)
    {
        if (!aligned)
        {
            if (_freeAddresses.Count == 0)
            {
                throw new CloudException(CloudErrorKind.SubnetFull, "the subnet has no free addresses", "InsufficientFreeAddressesInSubnet");
            }

            var a = _freeAddresses.Min;
            _freeAddresses.Remove(a);
            return [a];
        }

        foreach (var a in _freeAddresses)
        {
            if ((a & 15) == 0 && Enumerable.Range(0, 16).All(i => _freeAddresses.Contains(a + (uint)i)))
            {
                for (uint i = 0; i < 16; i++)
                {
                    _freeAddresses.Remove(a + i);
                }

                return [a];
            }
        }

        throw new CloudException(CloudErrorKind.NoFreePrefix, "the subnet has no free /28 block", "InsufficientCidrBlocks");
    }

    private void ReleaseAll(EniRecord eni)
    {
        foreach (var cidr in eni.Cidrs)
        {
            var start = PodAddress.From(cidr.BaseAddress).Value;
            for (uint i = 0; i < 1u << (32 - cidr.PrefixLength); i++)
            {
                _freeAddresses.Add(start + i);
            }
        }

        _freeAddresses.Add(eni.PrimaryAddress);
    }

    private void Enter(string operation)
    {
        _calls[operation] = _calls.GetValueOrDefault(operation) + 1;
        if (FaultInjector?.Invoke(operation) is { } fault)
        {
            throw fault;
        }
    }

    private EniRecord Find(string eniId) =>
        _enis.TryGetValue(eniId, out var eni) ? eni : throw new CloudException(CloudErrorKind.NotFound, $"ENI {eniId} not found", "InvalidNetworkInterfaceID.NotFound");

    private NetworkInterface ToModel(EniRecord e) => new(
        e.Id,
        $"02:00:00:00:{e.NetworkCard:x2}:{e.DeviceIndex:x2}",
        e.DeviceIndex,
        e.NetworkCard,
        "subnet-a",
        _subnet,
        new PodAddress(e.PrimaryAddress).ToIPAddress(),
        [.. e.Cidrs.Where(c => c.PrefixLength == 32).Select(c => c.BaseAddress)],
        [.. e.Cidrs.Where(c => c.PrefixLength == 28)])
    {
        Kind = e.Kind,
        Tags = e.Tags ?? new Dictionary<string, string>(),
        AttachmentId = $"attach-{e.Id}",
        IsExcludedForPodIPs = e.IsExcluded,
    };

    private sealed record EniRecord(string Id, int DeviceIndex, uint PrimaryAddress)
    {
        public List<IPNetwork> Cidrs { get; } = [];

        public IReadOnlyDictionary<string, string>? Tags { get; set; }

        public EniKind Kind { get; init; } = EniKind.Interface;

        public int NetworkCard { get; init; }

        public bool IsExcluded { get; set; }
    }
}
