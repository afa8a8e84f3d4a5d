using System.Globalization;
using System.Net;
using VpcCni.Aws.Limits;

namespace VpcCni.Aws.Simulation;

/// <summary>
/// An in-memory model of one AWS account's VPCs in one Region: subnets with finite addresses and /28
/// fragmentation, instances with the limits of the embedded table, ENIs whose attachments complete after a
/// delay, IMDS views that lag behind EC2, EC2's error codes, the account-wide request token buckets and
/// fault injection. Every EC2 action is a method named after it; all time comes from the
/// <see cref="TimeProvider"/>, all randomness from <see cref="SimulatedVpcOptions.Seed"/>, so a run under a
/// fake clock is reproducible. Thread-safe.
/// </summary>
public sealed partial class SimulatedVpc
{
    private readonly Dictionary<string, VpcCni.Cloud.InstanceLimits> _customTypes = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly SimulatedVpcOptions _options;
    private readonly Random _random;
    private readonly Dictionary<string, VpcState> _vpcs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SubnetState> _subnets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _securityGroups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InstanceState> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EniState> _enis = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AttachmentState> _attachments = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Fingerprint, string EniId, SimulatedEni Created)> _clientTokens = new(StringComparer.Ordinal);
    private readonly RequestGate _requests;
    private long _nextId = 1;

    public SimulatedVpc(SimulatedVpcOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new SimulatedVpcOptions();
        _time = timeProvider ?? TimeProvider.System;
        _random = new Random(_options.Seed);
        _requests = new RequestGate(_options, _time);
    }

    /// <summary>Raised (outside the model's lock) when an attachment completes or ends, and when addresses
    /// or prefixes are assigned or unassigned.</summary>
    public event EventHandler<SimulatedVpcChangeEventArgs>? Changed;

    public TimeProvider TimeProvider => _time;

    public SimulatedVpcOptions Options => _options;

    /// <summary>Request accounting, latency, throttling and fault injection.</summary>
    public RequestGate Requests => _requests;

    // ---------------------------------------------------------------- setup (not EC2 actions)

    public SimulatedVpcInfo AddVpc(IPNetwork cidr)
    {
        lock (_gate)
        {
            // The n-th VPC takes the n-th /56 of the pool (none when the pool is smaller or used up).
            var pool = _options.Ipv6Pool;
            IPNetwork? ipv6 = pool.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && pool.PrefixLength <= 56
                && (56 - pool.PrefixLength >= 31 || _vpcs.Count < 1 << (56 - pool.PrefixLength))
                ? Ipv6Subnet(pool, 56, _vpcs.Count)
                : null;
            var vpc = new VpcState(NewId("vpc"), cidr, ipv6);
            _vpcs.Add(vpc.Id, vpc);
            return Info(vpc);
        }
    }

    /// <summary>
    /// Associates one more IPv4 CIDR block with a VPC, as EC2's AssociateVpcCidrBlock (e.g. 100.64.0.0/16 for custom
    /// networking): subnets may then be added in it, and IMDS lists it under <c>vpc-ipv4-cidr-blocks</c>. The block
    /// must be IPv4 /16 to /28 and must not overlap the VPC's blocks; a VPC holds at most five (EC2's default quota).
    /// </summary>
    public SimulatedVpcInfo AddVpcCidr(string vpcId, IPNetwork cidr)
    {
        if (cidr.PrefixLength is < 16 or > 28 || cidr.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"VPC CIDR block {cidr} must be IPv4 /16 to /28", nameof(cidr));
        }

        lock (_gate)
        {
            var vpc = GetVpc(vpcId);
            if (vpc.Cidrs.Any(c => c.Contains(cidr.BaseAddress) || cidr.Contains(c.BaseAddress)))
            {
                throw new SimulatedEc2Exception("InvalidVpc.Range", $"The CIDR '{cidr}' overlaps with an existing CIDR block of {vpcId}.");
            }

            if (vpc.Cidrs.Count >= 5)
            {
                throw new SimulatedEc2Exception("CidrLimitExceeded", $"This network '{vpcId}' has met its maximum number of allowed CIDRs: 5");
            }

            vpc.Cidrs.Add(cidr);
            return Info(vpc);
        }
    }

    public SimulatedSubnet AddSubnet(string vpcId, string availabilityZone, IPNetwork cidr, IReadOnlyDictionary<string, string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(availabilityZone);
        if (cidr.PrefixLength is < 16 or > 28 || cidr.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"subnet CIDR {cidr} must be IPv4 /16 to /28", nameof(cidr));
        }

        lock (_gate)
        {
            var vpc = GetVpc(vpcId);
            if (!vpc.Cidrs.Any(c => c.Contains(cidr.BaseAddress) && c.PrefixLength <= cidr.PrefixLength))
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue, $"The CIDR '{cidr}' is invalid for this VPC.");
            }

            if (_subnets.Values.Any(s => s.VpcId == vpcId && (s.Cidr.Contains(cidr.BaseAddress) || cidr.Contains(s.Cidr.BaseAddress))))
            {
                throw new SimulatedEc2Exception("InvalidSubnet.Conflict", $"The CIDR '{cidr}' conflicts with another subnet");
            }

            // Each subnet takes the next /64 of the VPC's /56 (256 of them).
            IPNetwork? ipv6 = vpc.Ipv6Cidr is { } block && vpc.Ipv6SubnetsCut < 256 ? Ipv6Subnet(block, 64, vpc.Ipv6SubnetsCut++) : null;
            var subnet = new SubnetState(NewId("subnet"), vpcId, availabilityZone, cidr, tags ?? new Dictionary<string, string>()) { Ipv6Cidr = ipv6 };
            _subnets.Add(subnet.Id, subnet);
            return Snapshot(subnet);
        }
    }

    public string AddSecurityGroup(string vpcId, string name)
    {
        lock (_gate)
        {
            GetVpc(vpcId);
            var id = NewId("sg");
            _securityGroups.Add(id, name);
            return id;
        }
    }

    /// <summary>Launches an instance with its primary ENI attached at device index 0.</summary>
    public SimulatedInstance LaunchInstance(string instanceType, string subnetId, IReadOnlyList<string> securityGroupIds)
    {
        ArgumentNullException.ThrowIfNull(securityGroupIds);
        lock (_gate)
        {
            if (!InstanceLimitsCatalog.TryGet(instanceType, out var limits) && !_customTypes.TryGetValue(instanceType, out limits))
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidInstanceType, $"The instance type '{instanceType}' does not exist");
            }

            var subnet = GetSubnet(subnetId);
            foreach (var sg in securityGroupIds)
            {
                GetSecurityGroup(sg);
            }

            var instance = new InstanceState
            {
                Id = NewId("i"),
                InstanceType = instanceType,
                Limits = limits,
                Subnet = subnet,
                Groups = [.. securityGroupIds],
            };
            var primary = NewEni(subnet, "Primary network interface", securityGroupIds, new Dictionary<string, string>());
            _instances.Add(instance.Id, instance);
            instance.Primary = primary;
            var now = _time.GetUtcNow();
            var attachment = new AttachmentState
            {
                Id = NewId("eni-attach"),
                Instance = instance,
                DeviceIndex = 0,
                NetworkCardIndex = 0,
                AttachTime = now,
                Status = "attached",
                DeleteOnTermination = true,
            };
            _attachments.Add(attachment.Id, attachment);
            primary.Attachment = attachment;
            primary.ImdsVisibleFrom = now;
            instance.ImdsEnis.Add(primary);
            return Snapshot(instance);
        }
    }

    /// <summary>Terminates an instance: attachments end, ENIs with DeleteOnTermination are deleted.</summary>
    public void TerminateInstance(string instanceId)
    {
        var events = new List<SimulatedVpcChangeEventArgs>();
        lock (_gate)
        {
            var instance = GetInstance(instanceId);
            foreach (var eni in instance.AttachedEnis(_enis.Values).ToList())
            {
                var attachment = eni.Attachment!;
                attachment.Timer?.Dispose();
                _attachments.Remove(attachment.Id);
                eni.Attachment = null;
                events.Add(Change(SimulatedVpcChangeKind.EniDetached, instance.Id, eni, AllCidrs(eni)));
                if (attachment.DeleteOnTermination)
                {
                    RemoveEni(eni);
                }
            }

            instance.ImdsEnis.Clear();
            instance.State = "terminated";
            _instances.Remove(instanceId);
        }

        Raise(events);
    }

    // ---------------------------------------------------------------- EC2 actions

    /// <summary>
    /// CreateNetworkInterface. With a <paramref name="clientToken"/> it is idempotent as in EC2: the same token with the
    /// same parameters returns the ENI the first request created (no second ENI); the same token with different
    /// parameters fails with IdempotentParameterMismatch.
    /// </summary>
    public SimulatedEni CreateNetworkInterface(
        string subnetId,
        string? description,
        IReadOnlyList<string>? groups,
        int secondaryPrivateIpAddressCount,
        int ipv4PrefixCount,
        IReadOnlyDictionary<string, string>? tags,
        string? clientToken = null)
    {
        if (clientToken is not null && (clientToken.Length is 0 or > 64 || clientToken.Any(c => c is < '!' or > '~')))
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue, "ClientToken must be 1 to 64 printable ASCII characters");
        }

        var fingerprint = clientToken is null ? null : Fingerprint(subnetId, description, groups, secondaryPrivateIpAddressCount, ipv4PrefixCount, tags);
        if (clientToken is not null)
        {
            lock (_gate)
            {
                if (_clientTokens.TryGetValue(clientToken, out var earlier))
                {
                    if (earlier.Fingerprint != fingerprint)
                    {
                        throw new SimulatedEc2Exception(Ec2ErrorCodes.IdempotentParameterMismatch,
                            "The client token you have provided is associated with a resource that is already created with different parameters.");
                    }

                    return _enis.TryGetValue(earlier.EniId, out var existing) ? Snapshot(existing) : earlier.Created;
                }
            }
        }

        var created = CreateNetworkInterfaceOnce(subnetId, description, groups, secondaryPrivateIpAddressCount, ipv4PrefixCount, tags);
        if (clientToken is not null)
        {
            lock (_gate)
            {
                // Two racing first requests with one token: the first to record wins and the other ENI is undone.
                if (_clientTokens.TryGetValue(clientToken, out var raced))
                {
                    if (_enis.TryGetValue(created.NetworkInterfaceId, out var extra))
                    {
                        RemoveEni(extra);
                    }

                    if (raced.Fingerprint != fingerprint)
                    {
                        throw new SimulatedEc2Exception(Ec2ErrorCodes.IdempotentParameterMismatch,
                            "The client token you have provided is associated with a resource that is already created with different parameters.");
                    }

                    return _enis.TryGetValue(raced.EniId, out var existing) ? Snapshot(existing) : raced.Created;
                }

                _clientTokens[clientToken] = (fingerprint!, created.NetworkInterfaceId, created);
            }
        }

        return created;
    }

    private static string Fingerprint(
        string subnetId, string? description, IReadOnlyList<string>? groups, int addresses, int prefixes, IReadOnlyDictionary<string, string>? tags) =>
        string.Join('\u0001',
            subnetId,
            description ?? string.Empty,
            string.Join(',', (groups ?? []).Order(StringComparer.Ordinal)),
            addresses.ToString(CultureInfo.InvariantCulture),
            prefixes.ToString(CultureInfo.InvariantCulture),
            string.Join(',', (tags ?? new Dictionary<string, string>()).OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value)));

    private SimulatedEni CreateNetworkInterfaceOnce(
        string subnetId,
        string? description,
        IReadOnlyList<string>? groups,
        int secondaryPrivateIpAddressCount,
        int ipv4PrefixCount,
        IReadOnlyDictionary<string, string>? tags)
    {
        if (secondaryPrivateIpAddressCount < 0 || ipv4PrefixCount < 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue, "Address and prefix counts must not be negative");
        }

        if (secondaryPrivateIpAddressCount > 0 && ipv4PrefixCount > 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                "SecondaryPrivateIpAddressCount and Ipv4PrefixCount cannot be combined");
        }

        lock (_gate)
        {
            var subnet = GetSubnet(subnetId);
            var sgs = groups is { Count: > 0 } ? groups : [];
            foreach (var sg in sgs)
            {
                GetSecurityGroup(sg);
            }

            if (1 + secondaryPrivateIpAddressCount + ipv4PrefixCount > _options.UnattachedEniAddressLimit)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.PrivateIpAddressLimitExceeded,
                    $"Number of private addresses will exceed limit of {_options.UnattachedEniAddressLimit}.");
            }

            if (subnet.Free < 1 + secondaryPrivateIpAddressCount)
            {
                throw SubnetFull(subnet);
            }

            // Reserve the /28s first so a failure leaves nothing behind.
            var prefixes = TakePrefixes(subnet, ipv4PrefixCount);
            if (subnet.Free < 1 + secondaryPrivateIpAddressCount)
            {
                ReleaseAll(subnet, prefixes);
                throw SubnetFull(subnet);
            }

            var eni = NewEni(subnet, description ?? string.Empty, sgs, tags ?? new Dictionary<string, string>());
            var now = _time.GetUtcNow();
            foreach (var prefix in prefixes)
            {
                eni.Addresses.Add(new AddressRecord(prefix, now, _options.ImdsLag));
            }

            for (var i = 0; i < secondaryPrivateIpAddressCount; i++)
            {
                eni.Addresses.Add(new AddressRecord(new IPNetwork(TakeAddress(subnet), 32), now, _options.ImdsLag));
            }

            return Snapshot(eni);
        }
    }

    /// <summary>AttachNetworkInterface; returns the attachment id. The attachment completes after
    /// <see cref="SimulatedVpcOptions.AttachDelay"/>.</summary>
    public string AttachNetworkInterface(string networkInterfaceId, string instanceId, int deviceIndex, int networkCardIndex = 0)
    {
        SimulatedVpcChangeEventArgs? completed = null;
        string attachmentId;
        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var instance = GetInstance(instanceId);
            if (eni.Attachment is not null)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.NetworkInterfaceInUse,
                    $"Interface: [{eni.Id}] in use.");
            }

            if (eni.Subnet.AvailabilityZone != instance.Subnet.AvailabilityZone || eni.Subnet.VpcId != instance.Subnet.VpcId)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                    $"You may not attach a network interface to an instance if they are not in the same availability zone");
            }

            if (networkCardIndex < 0 || networkCardIndex >= instance.Limits.NetworkCards)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                    $"Invalid value '{networkCardIndex}' for networkCardIndex. The instance type {instance.InstanceType} has {instance.Limits.NetworkCards} network card(s).");
            }

            if (deviceIndex is < 0 or > 99)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue, $"Invalid value '{deviceIndex}' for deviceIndex.");
            }

            var onCard = instance.AttachedEnis(_enis.Values).Where(e => e.Attachment!.NetworkCardIndex == networkCardIndex).ToList();
            if (onCard.Any(e => e.Attachment!.DeviceIndex == deviceIndex))
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                    $"Instance '{instance.Id}' already has an interface attached at device index '{deviceIndex}'.");
            }

            if (instance.AttachedEnis(_enis.Values).Count() >= instance.Limits.MaxEnis)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.AttachmentLimitExceeded,
                    $"Interface count {instance.Limits.MaxEnis + 1} exceeds the limit for {instance.InstanceType}");
            }

            if (eni.UsedSlots > instance.Limits.IPv4PerEni)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.PrivateIpAddressLimitExceeded,
                    $"Number of private addresses on {eni.Id} ({eni.UsedSlots}) exceeds the limit of {instance.Limits.IPv4PerEni} for {instance.InstanceType}.");
            }

            var now = _time.GetUtcNow();
            var attachment = new AttachmentState
            {
                Id = NewId("eni-attach"),
                Instance = instance,
                DeviceIndex = deviceIndex,
                NetworkCardIndex = networkCardIndex,
                AttachTime = now,
            };
            _attachments.Add(attachment.Id, attachment);
            eni.Attachment = attachment;
            eni.ImdsVisibleFrom = now + _options.AttachDelay + _options.ImdsLag;
            eni.ImdsHiddenFrom = null;
            if (!instance.ImdsEnis.Contains(eni))
            {
                instance.ImdsEnis.Add(eni);
            }

            attachmentId = attachment.Id;
            if (_options.AttachDelay <= TimeSpan.Zero)
            {
                attachment.Status = "attached";
                completed = Change(SimulatedVpcChangeKind.EniAttached, instance.Id, eni, AllCidrs(eni));
            }
            else
            {
                attachment.Timer = _time.CreateTimer(_ => CompleteAttach(attachment, eni), null, _options.AttachDelay, Timeout.InfiniteTimeSpan);
            }
        }

        if (completed is not null)
        {
            Raise([completed]);
        }

        return attachmentId;
    }

    private void CompleteAttach(AttachmentState attachment, EniState eni)
    {
        SimulatedVpcChangeEventArgs? change = null;
        lock (_gate)
        {
            if (eni.Attachment == attachment && attachment.Status == "attaching")
            {
                attachment.Status = "attached";
                attachment.Timer?.Dispose();
                attachment.Timer = null;
                change = Change(SimulatedVpcChangeKind.EniAttached, attachment.Instance.Id, eni, AllCidrs(eni));
            }
        }

        if (change is not null)
        {
            Raise([change]);
        }
    }

    /// <summary>DetachNetworkInterface; the ENI becomes available after <see cref="SimulatedVpcOptions.DetachDelay"/>.</summary>
    public void DetachNetworkInterface(string attachmentId, bool force = false)
    {
        SimulatedVpcChangeEventArgs? completed = null;
        lock (_gate)
        {
            if (!_attachments.TryGetValue(attachmentId, out var attachment))
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.AttachmentNotFound, $"The attachment ID '{attachmentId}' does not exist");
            }

            var eni = _enis.Values.First(e => e.Attachment == attachment);
            if (attachment.DeviceIndex == 0 && attachment.NetworkCardIndex == 0)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.OperationNotPermitted,
                    $"The network interface at device index 0 and networkCard index 0 cannot be detached.");
            }

            if (attachment.Status == "detaching")
            {
                return;
            }

            attachment.Timer?.Dispose();
            attachment.Status = "detaching";
            eni.ImdsHiddenFrom = _time.GetUtcNow() + _options.ImdsLag;
            if (_options.DetachDelay <= TimeSpan.Zero || force)
            {
                completed = FinishDetach(attachment, eni);
            }
            else
            {
                attachment.Timer = _time.CreateTimer(_ => CompleteDetach(attachment, eni), null, _options.DetachDelay, Timeout.InfiniteTimeSpan);
            }
        }

        if (completed is not null)
        {
            Raise([completed]);
        }
    }

    private void CompleteDetach(AttachmentState attachment, EniState eni)
    {
        SimulatedVpcChangeEventArgs? change = null;
        lock (_gate)
        {
            if (eni.Attachment == attachment)
            {
                change = FinishDetach(attachment, eni);
            }
        }

        if (change is not null)
        {
            Raise([change]);
        }
    }

    private SimulatedVpcChangeEventArgs FinishDetach(AttachmentState attachment, EniState eni)
    {
        attachment.Timer?.Dispose();
        attachment.Timer = null;
        _attachments.Remove(attachment.Id);
        eni.Attachment = null;
        return Change(SimulatedVpcChangeKind.EniDetached, attachment.Instance.Id, eni, AllCidrs(eni));
    }

    /// <summary>DeleteNetworkInterface: refused while the ENI has an attachment (also while detaching).</summary>
    public void DeleteNetworkInterface(string networkInterfaceId)
    {
        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            if (eni.Attachment is not null)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.NetworkInterfaceInUse,
                    $"The network interface '{eni.Id}' is currently in use.");
            }

            RemoveEni(eni);
        }
    }

    /// <summary>ModifyNetworkInterfaceAttribute: attachment DeleteOnTermination, or security groups.</summary>
    public void ModifyNetworkInterfaceAttribute(
        string networkInterfaceId,
        string? attachmentId = null,
        bool? deleteOnTermination = null,
        IReadOnlyList<string>? groups = null,
        string? description = null)
    {
        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var changes = (deleteOnTermination is null ? 0 : 1) + (groups is null ? 0 : 1) + (description is null ? 0 : 1);
            if (changes != 1)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                    "Exactly one attribute must be modified per request");
            }

            if (deleteOnTermination is { } dot)
            {
                if (attachmentId is null)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.MissingParameter, "The request must contain the parameter Attachment.AttachmentId");
                }

                if (eni.Attachment is null || eni.Attachment.Id != attachmentId)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.AttachmentNotFound,
                        $"The attachment ID '{attachmentId}' does not exist for network interface '{eni.Id}'");
                }

                eni.Attachment.DeleteOnTermination = dot;
            }

            if (groups is not null)
            {
                foreach (var sg in groups)
                {
                    GetSecurityGroup(sg);
                }

                eni.Groups = [.. groups];
            }
        }
    }

    /// <summary>AssignPrivateIpAddresses by count (secondary /32s or /28 prefixes); returns what was assigned.</summary>
    public IReadOnlyList<IPNetwork> AssignPrivateIpAddresses(string networkInterfaceId, int secondaryPrivateIpAddressCount, int ipv4PrefixCount)
    {
        if ((secondaryPrivateIpAddressCount > 0) == (ipv4PrefixCount > 0) || secondaryPrivateIpAddressCount < 0 || ipv4PrefixCount < 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                "Exactly one of SecondaryPrivateIpAddressCount or Ipv4PrefixCount must be a positive number");
        }

        SimulatedVpcChangeEventArgs change;
        List<IPNetwork> assigned;
        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var limit = eni.Attachment?.Instance.Limits.IPv4PerEni ?? _options.UnattachedEniAddressLimit;
            var wanted = secondaryPrivateIpAddressCount + ipv4PrefixCount;
            if (eni.UsedSlots + wanted > limit)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.PrivateIpAddressLimitExceeded,
                    $"Number of private addresses will exceed limit of {limit} on {eni.Id}.");
            }

            if (ipv4PrefixCount > 0 && eni.Attachment is { } a && !a.Instance.Limits.SupportsPrefixDelegation)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                    $"Prefix delegation is not supported for instance type {a.Instance.InstanceType}");
            }

            var subnet = eni.Subnet;
            if (secondaryPrivateIpAddressCount > subnet.Free)
            {
                throw SubnetFull(subnet);
            }

            assigned = ipv4PrefixCount > 0
                ? TakePrefixes(subnet, ipv4PrefixCount)
                : [.. Enumerable.Range(0, secondaryPrivateIpAddressCount).Select(_ => new IPNetwork(TakeAddress(subnet), 32))];
            var now = _time.GetUtcNow();
            eni.Addresses.AddRange(assigned.Select(c => new AddressRecord(c, now, _options.ImdsLag)));
            change = Change(SimulatedVpcChangeKind.AddressesAssigned, eni.Attachment?.Instance.Id, eni, assigned);
        }

        Raise([change]);
        return assigned;
    }

    /// <summary>UnassignPrivateIpAddresses of /32 addresses and /28 prefixes. Every item must be on the ENI.</summary>
    public void UnassignPrivateIpAddresses(string networkInterfaceId, IReadOnlyList<IPNetwork> cidrs)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        if (cidrs.Count == 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.MissingParameter, "The request must contain the parameter PrivateIpAddress or Ipv4Prefix");
        }

        SimulatedVpcChangeEventArgs change;
        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var records = new List<AddressRecord>();
            foreach (var cidr in cidrs)
            {
                var record = eni.Live.FirstOrDefault(r => r.Cidr == cidr);
                if (record is null)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                        cidr.PrefixLength == 32 && cidr.BaseAddress.Equals(eni.Primary)
                            ? $"The primary private IP address {eni.Primary} of {eni.Id} cannot be unassigned"
                            : $"Some of the specified addresses are not assigned to interface {eni.Id}: {cidr}");
                }

                records.Add(record);
            }

            var now = _time.GetUtcNow();
            foreach (var record in records)
            {
                record.Remove(now, _options.ImdsLag);
                Release(eni.Subnet, record.Cidr);
            }

            PruneAddresses(eni, now);
            change = Change(SimulatedVpcChangeKind.AddressesUnassigned, eni.Attachment?.Instance.Id, eni, [.. cidrs]);
        }

        Raise([change]);
    }

    /// <summary>
    /// AssignIpv6Addresses by prefix count: /80 prefixes carved from the ENI's subnet /64. An ENI holds at most as many
    /// IPv6 addresses and prefixes together as its instance type has IPv4 addresses per interface (EC2's
    /// Ipv6AddressesPerInterface equals it for the types modelled). Returns the new prefixes.
    /// </summary>
    public IReadOnlyList<IPNetwork> AssignIpv6Addresses(string networkInterfaceId, int ipv6AddressCount, int ipv6PrefixCount)
    {
        if (ipv6AddressCount > 0 && ipv6PrefixCount > 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                "The parameters Ipv6AddressCount and Ipv6PrefixCount cannot be used together");
        }

        if (ipv6AddressCount != 0)
        {
            // Individual IPv6 addresses are not modelled (ipamd asks for prefixes only).
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue, "Ipv6AddressCount is not supported by the simulated VPC; use Ipv6PrefixCount");
        }

        if (ipv6PrefixCount < 1)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                $"Value ({ipv6PrefixCount}) for parameter ipv6PrefixCount is invalid. Expected a positive number");
        }

        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var subnet = eni.Subnet;
            if (subnet.Ipv6Cidr is not { } block)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                    $"The subnet {subnet.Id} of {eni.Id} has no IPv6 CIDR block");
            }

            if (eni.Attachment is { } a && !a.Instance.Limits.SupportsPrefixDelegation)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                    $"Prefix delegation is not supported for instance type {a.Instance.InstanceType}");
            }

            var limit = eni.Attachment?.Instance.Limits.IPv4PerEni ?? _options.UnattachedEniAddressLimit;
            var used = eni.LiveIpv6Prefixes.Count() + (eni.PrimaryIPv6 is null ? 0 : 1);
            if (used + ipv6PrefixCount > limit)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.PrivateIpAddressLimitExceeded,
                    $"Number of IPv6 addresses and prefixes will exceed limit of {limit} on {eni.Id}.");
            }

            var free = Enumerable.Range(1, 65535).Where(i => !subnet.UsedIpv6Prefixes.Contains(i)).Take(ipv6PrefixCount).ToList();
            if (free.Count < ipv6PrefixCount)
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InsufficientCidrBlocks, $"There are not enough free IPv6 prefixes in subnet '{subnet.Id}' to satisfy the request.");
            }

            var now = _time.GetUtcNow();
            var assigned = new List<IPNetwork>();
            foreach (var index in free)
            {
                subnet.UsedIpv6Prefixes.Add(index);
                var prefix = Ipv6Subnet(block, 80, index);
                assigned.Add(prefix);
                eni.Ipv6Prefixes.Add(new AddressRecord(prefix, now, _options.ImdsLag));
            }

            return assigned;
        }
    }

    /// <summary>UnassignIpv6Addresses of /80 prefixes; every one must be on the ENI.</summary>
    public void UnassignIpv6Addresses(string networkInterfaceId, IReadOnlyList<IPNetwork> prefixes)
    {
        ArgumentNullException.ThrowIfNull(prefixes);
        if (prefixes.Count == 0)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.MissingParameter, "The request must contain the parameter Ipv6Addresses or Ipv6Prefixes");
        }

        lock (_gate)
        {
            var eni = GetEni(networkInterfaceId);
            var records = new List<AddressRecord>();
            foreach (var prefix in prefixes)
            {
                records.Add(eni.LiveIpv6Prefixes.FirstOrDefault(r => r.Cidr == prefix)
                    ?? throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                        $"Some of the specified IPv6 prefixes are not assigned to interface {eni.Id}: {prefix}"));
            }

            var now = _time.GetUtcNow();
            foreach (var record in records)
            {
                record.Remove(now, _options.ImdsLag);
                ReleaseIpv6Prefix(eni.Subnet, record.Cidr);
            }

            eni.Ipv6Prefixes.RemoveAll(a => a.ImdsHiddenFrom is { } hidden && hidden <= now);
        }
    }

    /// <summary>CreateTags on ENIs (other resource ids are accepted if they exist).</summary>
    public void CreateTags(IReadOnlyList<string> resourceIds, IReadOnlyDictionary<string, string> tags)
    {
        ArgumentNullException.ThrowIfNull(resourceIds);
        ArgumentNullException.ThrowIfNull(tags);
        lock (_gate)
        {
            var targets = new List<Dictionary<string, string>>();
            foreach (var id in resourceIds)
            {
                if (_enis.TryGetValue(id, out var eni))
                {
                    targets.Add(eni.Tags);
                }
                else if (_subnets.TryGetValue(id, out var subnet))
                {
                    targets.Add(subnet.Tags);
                }
                else
                {
                    throw new SimulatedEc2Exception(
                        id.StartsWith("eni-", StringComparison.Ordinal) ? Ec2ErrorCodes.NetworkInterfaceNotFound : Ec2ErrorCodes.InvalidParameterValue,
                        $"The ID '{id}' does not exist");
                }
            }

            foreach (var target in targets)
            {
                foreach (var (key, value) in tags)
                {
                    target[key] = value;
                }
            }
        }
    }

    /// <summary>DescribeNetworkInterfaces with ids, filters and pagination (MaxResults 5–1000).</summary>
    internal Ec2Page<SimulatedEni> DescribeNetworkInterfaces(
        IReadOnlyList<string>? networkInterfaceIds = null,
        IReadOnlyList<Ec2Filter>? filters = null,
        int? maxResults = null,
        string? nextToken = null)
    {
        lock (_gate)
        {
            IEnumerable<EniState> selected;
            if (networkInterfaceIds is { Count: > 0 })
            {
                if (maxResults is not null)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterCombination,
                        "The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults");
                }

                var missing = networkInterfaceIds.Where(id => !_enis.ContainsKey(id)).ToList();
                if (missing.Count > 0)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.NetworkInterfaceNotFound,
                        $"The networkInterface ID '{string.Join(", ", missing)}' does not exist");
                }

                selected = networkInterfaceIds.Distinct(StringComparer.Ordinal).Select(id => _enis[id]);
            }
            else
            {
                selected = _enis.Values.OrderBy(e => e.Id, StringComparer.Ordinal);
            }

            var views = selected.Select(Snapshot);
            foreach (var filter in filters ?? [])
            {
                var f = filter;
                views = views.Where(v => MatchesEni(v, f)).ToList();
            }

            return Paginate(views.ToList(), maxResults, nextToken, 5, 1000);
        }
    }

    /// <summary>DescribeInstances by id (filter <c>instance-id</c> also accepted).</summary>
    internal IReadOnlyList<SimulatedInstance> DescribeInstances(IReadOnlyList<string>? instanceIds, IReadOnlyList<Ec2Filter>? filters = null)
    {
        lock (_gate)
        {
            IEnumerable<InstanceState> selected = _instances.Values.OrderBy(i => i.Id, StringComparer.Ordinal);
            if (instanceIds is { Count: > 0 })
            {
                var missing = instanceIds.Where(id => !_instances.ContainsKey(id)).ToList();
                if (missing.Count > 0)
                {
                    throw new SimulatedEc2Exception(Ec2ErrorCodes.InstanceNotFound,
                        $"The instance ID '{string.Join(", ", missing)}' does not exist");
                }

                selected = instanceIds.Distinct(StringComparer.Ordinal).Select(id => _instances[id]);
            }

            foreach (var filter in filters ?? [])
            {
                var f = filter;
                selected = f.Name switch
                {
                    "instance-id" => selected.Where(i => f.Values.Contains(i.Id)).ToList(),
                    "vpc-id" => selected.Where(i => f.Values.Contains(i.Subnet.VpcId)).ToList(),
                    "instance-type" => selected.Where(i => f.Values.Contains(i.InstanceType)).ToList(),
                    "availability-zone" => selected.Where(i => f.Values.Contains(i.Subnet.AvailabilityZone)).ToList(),
                    _ => throw InvalidFilter(f.Name),
                };
            }

            return [.. selected.Select(Snapshot)];
        }
    }

    /// <summary>DescribeSubnets with ids and filters (vpc-id, availability-zone, subnet-id, tag-key, tag:K).</summary>
    internal IReadOnlyList<SimulatedSubnet> DescribeSubnets(IReadOnlyList<string>? subnetIds = null, IReadOnlyList<Ec2Filter>? filters = null)
    {
        lock (_gate)
        {
            IEnumerable<SubnetState> selected = _subnets.Values.OrderBy(s => s.Id, StringComparer.Ordinal);
            if (subnetIds is { Count: > 0 })
            {
                foreach (var id in subnetIds)
                {
                    GetSubnet(id);
                }

                selected = subnetIds.Distinct(StringComparer.Ordinal).Select(id => _subnets[id]);
            }

            IEnumerable<SimulatedSubnet> views = selected.Select(Snapshot).ToList();
            foreach (var filter in filters ?? [])
            {
                var f = filter;
                views = f.Name switch
                {
                    "vpc-id" => views.Where(s => f.Values.Contains(s.VpcId)).ToList(),
                    "availability-zone" => views.Where(s => f.Values.Contains(s.AvailabilityZone)).ToList(),
                    "subnet-id" => views.Where(s => f.Values.Contains(s.SubnetId)).ToList(),
                    "tag-key" => views.Where(s => s.Tags.Keys.Any(f.Values.Contains)).ToList(),
                    _ when f.Name.StartsWith("tag:", StringComparison.Ordinal) =>
                        views.Where(s => s.Tags.TryGetValue(f.Name[4..], out var v) && f.Values.Contains(v)).ToList(),
                    _ => throw InvalidFilter(f.Name),
                };
            }

            return [.. views];
        }
    }

    /// <summary>
    /// Makes EC2 know an instance type the embedded table does not (a type newer than the table), so the provider's
    /// DescribeInstanceTypes fallback can be exercised.
    /// </summary>
    public void RegisterInstanceType(VpcCni.Cloud.InstanceLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        lock (_gate)
        {
            _customTypes[limits.InstanceType] = limits;
        }
    }

    private bool TryGetInstanceType(string type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VpcCni.Cloud.InstanceLimits? limits)
    {
        lock (_gate)
        {
            return InstanceLimitsCatalog.TryGet(type, out limits) || _customTypes.TryGetValue(type, out limits);
        }
    }

    /// <summary>DescribeInstanceTypes from the embedded table and the registered types.</summary>
    public IReadOnlyList<VpcCni.Cloud.InstanceLimits> DescribeInstanceTypes(IReadOnlyList<string> instanceTypes)
    {
        ArgumentNullException.ThrowIfNull(instanceTypes);
        _ = _options;
        var result = new List<VpcCni.Cloud.InstanceLimits>();
        foreach (var type in instanceTypes)
        {
            if (!TryGetInstanceType(type, out var limits))
            {
                throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidInstanceType, $"The following supplied instance types do not exist: [{type}]");
            }

            result.Add(limits);
        }

        return result;
    }

    // ---------------------------------------------------------------- IMDS and inspection

    /// <summary>What IMDS shows the instance now: ENIs and addresses appear and vanish
    /// <see cref="SimulatedVpcOptions.ImdsLag"/> after EC2 changed them.</summary>
    internal ImdsInstanceView GetImdsView(string instanceId)
    {
        lock (_gate)
        {
            var instance = GetInstance(instanceId);
            var now = _time.GetUtcNow();
            instance.ImdsEnis.RemoveAll(e => e.ImdsHiddenFrom is { } hidden && hidden <= now && e.Attachment?.Instance != instance);
            var vpc = _vpcs[instance.Subnet.VpcId];
            var interfaces = new List<ImdsInterfaceView>();
            foreach (var eni in instance.ImdsEnis)
            {
                if (eni.ImdsVisibleFrom is not { } visible || visible > now || eni.ImdsHiddenFrom is { } hidden && hidden <= now)
                {
                    continue;
                }

                var shown = eni.Addresses
                    .Where(a => a.ImdsVisibleFrom <= now && (a.ImdsHiddenFrom is null || a.ImdsHiddenFrom > now))
                    .ToList();
                var shownV6 = eni.Ipv6Prefixes
                    .Where(a => a.ImdsVisibleFrom <= now && (a.ImdsHiddenFrom is null || a.ImdsHiddenFrom > now))
                    .Select(a => a.Cidr)
                    .ToList();
                interfaces.Add(new ImdsInterfaceView(
                    eni.Mac,
                    eni.Id,
                    eni == instance.Primary ? 0 : eni.Attachment?.DeviceIndex ?? 0,
                    eni.Attachment?.NetworkCardIndex ?? 0,
                    eni.Subnet.Id,
                    eni.Subnet.Cidr,
                    vpc.Id,
                    [.. vpc.Cidrs],
                    [.. eni.Groups],
                    [eni.Primary, .. shown.Where(a => !a.IsPrefix).Select(a => a.Cidr.BaseAddress)],
                    [.. shown.Where(a => a.IsPrefix).Select(a => a.Cidr)])
                {
                    IPv6s = eni.PrimaryIPv6 is { } v6 ? [v6] : [],
                    IPv6Prefixes = shownV6,
                    SubnetIpv6Cidrs = eni.Subnet.Ipv6Cidr is { } subnetV6 ? [subnetV6] : [],
                    VpcIpv6Cidrs = vpc.Ipv6Cidr is { } vpcV6 ? [vpcV6] : [],
                });
            }

            return new ImdsInstanceView(
                instance.Id,
                instance.InstanceType,
                instance.Subnet.AvailabilityZone,
                _options.Region,
                instance.Primary.Mac,
                instance.Primary.Primary,
                interfaces)
            {
                IPv6 = instance.Primary.PrimaryIPv6,
            };
        }
    }

    /// <summary>The instance as EC2 sees it now.</summary>
    public SimulatedInstance GetInstanceView(string instanceId)
    {
        lock (_gate)
        {
            return Snapshot(GetInstance(instanceId));
        }
    }

    /// <summary>All instances, in id order.</summary>
    public IReadOnlyList<SimulatedInstance> Instances
    {
        get
        {
            lock (_gate)
            {
                return [.. _instances.Values.OrderBy(i => i.Id, StringComparer.Ordinal).Select(Snapshot)];
            }
        }
    }

    /// <summary>All ENIs, in id order.</summary>
    public IReadOnlyList<SimulatedEni> NetworkInterfaces
    {
        get
        {
            lock (_gate)
            {
                return [.. _enis.Values.OrderBy(e => e.Id, StringComparer.Ordinal).Select(Snapshot)];
            }
        }
    }

    /// <summary>The VPC's CIDRs.</summary>
    public SimulatedVpcInfo DescribeVpc(string vpcId)
    {
        lock (_gate)
        {
            return Info(GetVpc(vpcId));
        }
    }

    /// <summary>Every VPC, in id order (DescribeVpcs without ids).</summary>
    public IReadOnlyList<SimulatedVpcInfo> DescribeVpcs()
    {
        lock (_gate)
        {
            return [.. _vpcs.Values.OrderBy(v => v.Id, StringComparer.Ordinal).Select(Info)];
        }
    }

    /// <summary>How many aligned /28 blocks of the subnet are completely free (prefix-delegation headroom).</summary>
    public int FreePrefixCount(string subnetId)
    {
        lock (_gate)
        {
            var subnet = GetSubnet(subnetId);
            return FreeBlocks(subnet).Count();
        }
    }

    /// <summary>
    /// Fragments a subnet as other tenants' addresses do: takes one address of every completely free aligned /28, so
    /// prefix requests fail with InsufficientCidrBlocks while the subnet still has free addresses. Disposing the handle
    /// (or <see cref="SimulatedFragmentation.Defragment"/>) gives the addresses back, so /28s are free again.
    /// </summary>
    public SimulatedFragmentation FragmentSubnet(string subnetId)
    {
        List<IPNetwork> taken;
        lock (_gate)
        {
            var subnet = GetSubnet(subnetId);
            taken = [];
            foreach (var start in FreeBlocks(subnet).ToList())
            {
                // The block's last address: the subnet's own reserved first addresses stay untouched.
                var i = start + 15;
                subnet.Used[i] = true;
                subnet.Free--;
                taken.Add(new IPNetwork(subnet.AddressAt(i), 32));
            }
        }

        return new SimulatedFragmentation(subnetId, taken, () =>
        {
            lock (_gate)
            {
                var subnet = GetSubnet(subnetId);
                foreach (var address in taken)
                {
                    Release(subnet, address);
                }
            }
        });
    }

    // ---------------------------------------------------------------- internals

    private string NewId(string prefix)
    {
        var n = _nextId++;
        return prefix.Length switch
        {
            _ when prefix == "vpc" || prefix == "subnet" || prefix == "sg" => $"{prefix}-{0x0a00000000000000UL + (ulong)n:x17}",
            _ => $"{prefix}-{0x0b00000000000000UL + (ulong)n:x17}",
        };
    }

    private EniState NewEni(SubnetState subnet, string description, IEnumerable<string> groups, IReadOnlyDictionary<string, string> tags)
    {
        if (subnet.Free < 1)
        {
            throw SubnetFull(subnet);
        }

        var n = _nextId;
        var eni = new EniState
        {
            Id = NewId("eni"),
            Subnet = subnet,
            Mac = string.Create(CultureInfo.InvariantCulture, $"02:{(n >> 32) & 0xff:x2}:{(n >> 24) & 0xff:x2}:{(n >> 16) & 0xff:x2}:{(n >> 8) & 0xff:x2}:{n & 0xff:x2}"),
            Description = description,
            Primary = TakeAddress(subnet),
            CreatedAt = _time.GetUtcNow(),
            Groups = [.. groups],
            PrimaryIPv6 = _options.AssignIpv6AddressOnCreation && subnet.Ipv6Cidr is { } v6
                ? FromUInt128(ToUInt128(v6.BaseAddress) + (UInt128)(uint)++subnet.Ipv6AddressesGiven)
                : null,
        };
        foreach (var (key, value) in tags)
        {
            eni.Tags[key] = value;
        }

        _enis.Add(eni.Id, eni);
        return eni;
    }

    private void RemoveEni(EniState eni)
    {
        var now = _time.GetUtcNow();
        foreach (var record in eni.Live.ToList())
        {
            record.Remove(now, _options.ImdsLag);
            Release(eni.Subnet, record.Cidr);
        }

        Release(eni.Subnet, new IPNetwork(eni.Primary, 32));
        foreach (var record in eni.LiveIpv6Prefixes.ToList())
        {
            record.Remove(now, _options.ImdsLag);
            ReleaseIpv6Prefix(eni.Subnet, record.Cidr);
        }

        eni.Deleted = true;
        _enis.Remove(eni.Id);
    }

    private static void ReleaseIpv6Prefix(SubnetState subnet, IPNetwork prefix)
    {
        if (subnet.Ipv6Cidr is { } block)
        {
            subnet.UsedIpv6Prefixes.Remove((int)((ToUInt128(prefix.BaseAddress) - ToUInt128(block.BaseAddress)) >> 48));
        }
    }

    private static SimulatedVpcInfo Info(VpcState vpc) =>
        new(vpc.Id, [.. vpc.Cidrs]) { Ipv6Cidrs = vpc.Ipv6Cidr is { } v6 ? [v6] : [] };

    private static void PruneAddresses(EniState eni, DateTimeOffset now) =>
        eni.Addresses.RemoveAll(a => a.ImdsHiddenFrom is { } hidden && hidden <= now);

    private IPAddress TakeAddress(SubnetState subnet)
    {
        if (subnet.Free == 0)
        {
            throw SubnetFull(subnet);
        }

        // EC2 hands out addresses from anywhere in the subnet, which is what fragments /28 blocks.
        var skip = _random.Next(subnet.Free);
        for (var i = 0; i < subnet.Used.Length; i++)
        {
            if (!subnet.Used[i] && skip-- == 0)
            {
                subnet.Used[i] = true;
                subnet.Free--;
                return subnet.AddressAt(i);
            }
        }

        throw new InvalidOperationException("free address count out of sync");
    }

    private static IEnumerable<int> FreeBlocks(SubnetState subnet)
    {
        for (var start = 0; start + 16 <= subnet.Used.Length; start += 16)
        {
            var free = true;
            for (var i = start; i < start + 16 && free; i++)
            {
                free = !subnet.Used[i];
            }

            if (free)
            {
                yield return start;
            }
        }
    }

    private List<IPNetwork> TakePrefixes(SubnetState subnet, int count)
    {
        if (count == 0)
        {
            return [];
        }

        var blocks = FreeBlocks(subnet).ToList();
        if (blocks.Count < count)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InsufficientCidrBlocks,
                $"There are not enough free cidr blocks in the specified subnet ({subnet.Id}) to satisfy the request.");
        }

        var taken = new List<IPNetwork>(count);
        for (var k = 0; k < count; k++)
        {
            var pick = blocks[_random.Next(blocks.Count)];
            blocks.Remove(pick);
            for (var i = pick; i < pick + 16; i++)
            {
                subnet.Used[i] = true;
            }

            subnet.Free -= 16;
            taken.Add(new IPNetwork(subnet.AddressAt(pick), 28));
        }

        return taken;
    }

    private static void Release(SubnetState subnet, IPNetwork cidr)
    {
        var start = subnet.OffsetOf(cidr.BaseAddress);
        var size = 1 << (32 - cidr.PrefixLength);
        for (var i = start; i < start + size; i++)
        {
            if (subnet.Used[i])
            {
                subnet.Used[i] = false;
                subnet.Free++;
            }
        }
    }

    private static void ReleaseAll(SubnetState subnet, IEnumerable<IPNetwork> cidrs)
    {
        foreach (var cidr in cidrs)
        {
            Release(subnet, cidr);
        }
    }

    private static SimulatedEc2Exception SubnetFull(SubnetState subnet) =>
        new(Ec2ErrorCodes.InsufficientFreeAddressesInSubnet,
            $"The specified subnet {subnet.Id} does not have enough free addresses to satisfy the request.");

    private static SimulatedEc2Exception InvalidFilter(string name) =>
        new(Ec2ErrorCodes.InvalidParameterValue, $"The filter '{name}' is invalid");

    private VpcState GetVpc(string vpcId) =>
        _vpcs.TryGetValue(vpcId, out var vpc) ? vpc
            : throw new SimulatedEc2Exception(Ec2ErrorCodes.VpcNotFound, $"The vpc ID '{vpcId}' does not exist");

    private SubnetState GetSubnet(string subnetId) =>
        _subnets.TryGetValue(subnetId, out var subnet) ? subnet
            : throw new SimulatedEc2Exception(Ec2ErrorCodes.SubnetNotFound, $"The subnet ID '{subnetId}' does not exist");

    private string GetSecurityGroup(string groupId) =>
        _securityGroups.TryGetValue(groupId, out var name) ? name
            : throw new SimulatedEc2Exception(Ec2ErrorCodes.SecurityGroupNotFound, $"The security group '{groupId}' does not exist");

    private InstanceState GetInstance(string instanceId) =>
        _instances.TryGetValue(instanceId, out var instance) ? instance
            : throw new SimulatedEc2Exception(Ec2ErrorCodes.InstanceNotFound, $"The instance ID '{instanceId}' does not exist");

    private EniState GetEni(string eniId) =>
        _enis.TryGetValue(eniId, out var eni) ? eni
            : throw new SimulatedEc2Exception(Ec2ErrorCodes.NetworkInterfaceNotFound, $"The networkInterface ID '{eniId}' does not exist");

    private static bool MatchesEni(SimulatedEni eni, Ec2Filter filter) => filter.Name switch
    {
        "network-interface-id" => filter.Values.Contains(eni.NetworkInterfaceId),
        "attachment.instance-id" => eni.Attachment is { } a && filter.Values.Contains(a.InstanceId),
        "attachment.status" => eni.Attachment is { } b && filter.Values.Contains(b.Status),
        "attachment.attachment-id" => eni.Attachment is { } c && filter.Values.Contains(c.AttachmentId),
        "status" => filter.Values.Contains(eni.Status),
        "vpc-id" => filter.Values.Contains(eni.VpcId),
        "subnet-id" => filter.Values.Contains(eni.SubnetId),
        "availability-zone" => filter.Values.Contains(eni.AvailabilityZone),
        "description" => filter.Values.Any(v => v.EndsWith('*') ? eni.Description.StartsWith(v[..^1], StringComparison.Ordinal) : v == eni.Description),
        "interface-type" => filter.Values.Contains(eni.InterfaceType),
        "tag-key" => eni.Tags.Keys.Any(filter.Values.Contains),
        _ when filter.Name.StartsWith("tag:", StringComparison.Ordinal) =>
            eni.Tags.TryGetValue(filter.Name[4..], out var value) && filter.Values.Contains(value),
        _ => throw InvalidFilter(filter.Name),
    };

    private static Ec2Page<T> Paginate<T>(List<T> items, int? maxResults, string? nextToken, int min, int max)
    {
        var start = 0;
        if (nextToken is not null && (!int.TryParse(nextToken, NumberStyles.None, CultureInfo.InvariantCulture, out start) || start < 0 || start > items.Count))
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidNextToken, $"The token '{nextToken}' is invalid");
        }

        if (maxResults is not { } size)
        {
            return new Ec2Page<T>(items[start..], null);
        }

        if (size < min || size > max)
        {
            throw new SimulatedEc2Exception(Ec2ErrorCodes.InvalidParameterValue,
                $"Value ({size}) for parameter maxResults is invalid. Expecting a value between {min} and {max}.");
        }

        var end = Math.Min(items.Count, start + size);
        return new Ec2Page<T>(items[start..end], end < items.Count ? end.ToString(CultureInfo.InvariantCulture) : null);
    }

    private static IReadOnlyList<IPNetwork> AllCidrs(EniState eni) =>
        [new IPNetwork(eni.Primary, 32), .. eni.Live.Select(a => a.Cidr)];

    private SimulatedVpcChangeEventArgs Change(SimulatedVpcChangeKind kind, string? instanceId, EniState eni, IReadOnlyList<IPNetwork> cidrs) =>
        new(kind, instanceId, Snapshot(eni), cidrs);

    private void Raise(List<SimulatedVpcChangeEventArgs> changes)
    {
        foreach (var change in changes)
        {
            Changed?.Invoke(this, change);
        }
    }

    private SimulatedSubnet Snapshot(SubnetState s) =>
        new(s.Id, s.VpcId, s.AvailabilityZone, s.Cidr, s.Free, new Dictionary<string, string>(s.Tags, StringComparer.Ordinal))
        {
            FreePrefixBlocks = FreeBlocks(s).Count(),
            Ipv6Cidr = s.Ipv6Cidr,
        };

    private SimulatedEni Snapshot(EniState e) => new(
        e.Id,
        e.Subnet.Id,
        e.Subnet.VpcId,
        e.Subnet.AvailabilityZone,
        e.Mac,
        e.Description,
        e.Primary,
        [.. e.Live.Where(a => !a.IsPrefix).Select(a => a.Cidr.BaseAddress)],
        [.. e.Live.Where(a => a.IsPrefix).Select(a => a.Cidr)],
        [.. e.Groups],
        new Dictionary<string, string>(e.Tags, StringComparer.Ordinal),
        e.Attachment is null ? "available" : "in-use",
        e.Attachment is { } a
            ? new SimulatedAttachment(a.Id, a.Instance.Id, a.DeviceIndex, a.NetworkCardIndex, a.Status, a.DeleteOnTermination, a.AttachTime)
            : null,
        e.InterfaceType,
        e.CreatedAt)
    {
        IPv6Addresses = e.PrimaryIPv6 is { } v6 ? [v6] : [],
        IPv6Prefixes = [.. e.LiveIpv6Prefixes.Select(a => a.Cidr)],
    };

    private SimulatedInstance Snapshot(InstanceState i) => new(
        i.Id,
        i.InstanceType,
        i.Subnet.AvailabilityZone,
        i.Subnet.VpcId,
        i.Subnet.Id,
        i.Primary.Primary,
        [.. i.Groups],
        [.. i.AttachedEnis(_enis.Values).OrderBy(e => e.Attachment!.NetworkCardIndex).ThenBy(e => e.Attachment!.DeviceIndex).Select(Snapshot)],
        i.State);
}
