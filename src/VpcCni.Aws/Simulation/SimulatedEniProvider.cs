using System.Globalization;
using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Aws.Simulation;

/// <summary>
/// The cloud port for one instance of a <see cref="SimulatedVpc"/>, in-process: the IPAM engine runs on it
/// exactly as on the EC2 provider (same call sequence, tags and description, same error kinds), with no
/// HTTP in between. Every call passes the simulation's request gate, so throttling, latency and faults apply.
/// </summary>
public sealed class SimulatedEniProvider : IEniProvider, ISubnetPrefixCapacitySource, IVpcCidrSource, IIPv6PrefixProvider
{
    private const int DeleteAttempts = 12;
    private readonly SimulatedVpc _vpc;
    private readonly string _instanceId;
    private readonly string? _clusterName;

    public SimulatedEniProvider(SimulatedVpc vpc, string instanceId, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(vpc);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        _vpc = vpc;
        _instanceId = instanceId;
        _clusterName = clusterName;
    }

    public string InstanceId => _instanceId;

    private IReadOnlyList<string> _lastSubnets = [];

    /// <summary>The subnets of this instance's ENIs and of the last create, with their free /28 blocks (in-process, the
    /// simulation's truth; no request is counted).</summary>
    public IReadOnlyList<SubnetPrefixCapacity> GetSubnetPrefixCapacity()
    {
        var ids = _vpc.DescribeNetworkInterfaces(filters: [new Ec2Filter("attachment.instance-id", [_instanceId])]).Items.Select(e => e.SubnetId)
            .Concat(Volatile.Read(ref _lastSubnets)).Distinct(StringComparer.Ordinal).ToList();
        return [.. _vpc.DescribeSubnets(ids).OrderBy(s => s.SubnetId, StringComparer.Ordinal).Select(s => new SubnetPrefixCapacity(s.SubnetId, s.FreePrefixBlocks, false))];
    }

    /// <summary>ADDITIONAL_ENI_TAGS: extra tags on every ENI created, and kept by <see cref="EnsureEniTagsAsync"/>.</summary>
    public IReadOnlyDictionary<string, string> AdditionalEniTags { get; init; } = new Dictionary<string, string>();

    /// <summary>ENABLE_SUBNET_DISCOVERY: when on, ENIs in subnets tagged out for pods are reported
    /// <see cref="NetworkInterface.IsExcludedForPodIPs"/>.</summary>
    public bool SubnetDiscovery { get; init; } = true;

    /// <summary>Attempts of a CreateNetworkInterface that failed transiently (same ClientToken each time).</summary>
    private const int CreateAttempts = 3;

    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) =>
        CallAsync("DescribeInstances", true, () =>
        {
            var instance = _vpc.DescribeInstances([_instanceId])[0];
            var primary = instance.NetworkInterfaces.First(e => e.Attachment is { DeviceIndex: 0, NetworkCardIndex: 0 });
            var subnet = _vpc.DescribeSubnets([primary.SubnetId])[0];
            return new InstanceIdentity(
                instance.InstanceId,
                instance.InstanceType,
                instance.AvailabilityZone,
                primary.MacAddress,
                primary.PrimaryIPv4,
                primary.NetworkInterfaceId,
                subnet.SubnetId,
                subnet.Cidr,
                primary.SecurityGroupIds,
                _vpc.DescribeVpc(instance.VpcId).Cidrs)
            {
                VpcId = instance.VpcId,
            };
        }, cancellationToken);

    /// <summary>
    /// What the simulated IMDS lists now under the primary MAC's <c>vpc-ipv4-cidr-blocks</c>, so a block added with
    /// <see cref="SimulatedVpc.AddVpcCidr"/> shows at the next read. No EC2 request (upstream reads IMDS).
    /// </summary>
    public ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv4CidrsAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var view = _vpc.GetImdsView(_instanceId);
            var primary = view.Interfaces.FirstOrDefault(i => i.MacAddress == view.PrimaryMacAddress)
                ?? throw new CloudException(CloudErrorKind.Other, $"IMDS shows no primary interface {view.PrimaryMacAddress}");
            return ValueTask.FromResult(primary.VpcCidrs);
        }
        catch (SimulatedEc2Exception ex)
        {
            throw new CloudException(CloudErrorKind.Other, ex.Message, ex.Code, ex);
        }
    }

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceType);
        if (Limits.InstanceLimitsCatalog.TryGet(instanceType, out var known))
        {
            return ValueTask.FromResult(known);
        }

        return CallAsync("DescribeInstanceTypes", true, () => _vpc.DescribeInstanceTypes([instanceType])[0], cancellationToken);
    }

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) =>
        CallAsync<IReadOnlyList<NetworkInterface>>("DescribeNetworkInterfaces", true, () =>
        {
            var page = _vpc.DescribeNetworkInterfaces(filters: [new Ec2Filter("attachment.instance-id", [_instanceId])]);
            if (_vpc.Requests.TakeEmptyDescribe())
            {
                return [];
            }

            return [.. page.Items
                .OrderBy(e => e.Attachment!.NetworkCardIndex).ThenBy(e => e.Attachment!.DeviceIndex)
                .Select(ToNetworkInterface)];
        }, cancellationToken);

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var requested = RequestedSubnets.Of(request);
        var instance = await CallAsync("DescribeInstances", true, () => _vpc.DescribeInstances([_instanceId])[0], cancellationToken).ConfigureAwait(false);
        var limits = await GetInstanceLimitsAsync(instance.InstanceType, cancellationToken).ConfigureAwait(false);
        var used = instance.NetworkInterfaces
            .Where(e => e.Attachment!.NetworkCardIndex == request.NetworkCardIndex)
            .Select(e => e.Attachment!.DeviceIndex)
            .ToHashSet();
        var deviceIndex = Enumerable.Range(0, 100).FirstOrDefault(i => !used.Contains(i), -1);
        if (deviceIndex < 0 || instance.NetworkInterfaces.Count >= limits.MaxEnis)
        {
            throw new CloudException(CloudErrorKind.AttachmentLimitExceeded,
                $"instance {_instanceId} ({instance.InstanceType}) has no free device index or reached its {limits.MaxEnis} ENIs");
        }

        var primary = instance.NetworkInterfaces.First(e => e.Attachment!.DeviceIndex == 0 && e.Attachment.NetworkCardIndex == 0);
        var count = Math.Min(request.Count, limits.IPv4PerEni - 1);
        var tags = OwnershipTags();
        tags[EniTags.CreatedAt] = _vpc.TimeProvider.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        foreach (var (key, value) in request.Tags ?? new Dictionary<string, string>())
        {
            tags[key] = value;
        }

        var groups = request.SecurityGroupIds ?? [.. primary.SecurityGroupIds.Order(StringComparer.Ordinal)];
        var candidates = requested is null
            ? [primary.SubnetId]
            : await CheckRequestedSubnetsAsync(instance, requested, request.Unit, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastSubnets, candidates);
        SimulatedEni? created = null;
        for (var i = 0; created is null; i++)
        {
            try
            {
                created = await CreateWithRetriesAsync(candidates[i], groups, request.Unit, count, tags, cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (RequestedSubnets.AsInvalidConfiguration(e, [candidates[i]], groups) is { } invalid)
            {
                throw invalid;
            }
            catch (CloudException e) when (e.Kind is CloudErrorKind.SubnetFull or CloudErrorKind.NoFreePrefix && i + 1 < candidates.Count)
            {
                // As the EC2 provider: the next requested subnet may still have room.
            }
        }

        string attachmentId;
        try
        {
            attachmentId = await CallAsync("AttachNetworkInterface", true,
                () => _vpc.AttachNetworkInterface(created.NetworkInterfaceId, _instanceId, deviceIndex, request.NetworkCardIndex),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The attach may have gone through with its reply lost: detach too, not only delete.
            await CleanUpAsync(created.NetworkInterfaceId).ConfigureAwait(false);
            throw;
        }

        try
        {
            await CallAsync("ModifyNetworkInterfaceAttribute", true, () =>
            {
                _vpc.ModifyNetworkInterfaceAttribute(created.NetworkInterfaceId, attachmentId, deleteOnTermination: true);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await CleanUpAsync(created.NetworkInterfaceId).ConfigureAwait(false);
            throw;
        }

        var attached = _vpc.DescribeNetworkInterfaces([created.NetworkInterfaceId]).Items[0];
        return ToNetworkInterface(attached);
    }

    private async ValueTask<SimulatedEni> CreateWithRetriesAsync(
        string subnetId, IReadOnlyList<string> groups, AddressUnit unit, int count, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        // One ClientToken for this create and its retries: a create whose reply was lost is answered with its ENI.
        var clientToken = Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await CallAsync("CreateNetworkInterface", true, () => _vpc.CreateNetworkInterface(
                    subnetId,
                    EniTags.DescriptionPrefix + _instanceId,
                    groups,
                    unit == AddressUnit.SecondaryIPv4 ? count : 0,
                    unit == AddressUnit.IPv4Prefix ? count : 0,
                    tags,
                    clientToken), cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (e.Kind == CloudErrorKind.Transient && attempt < CreateAttempts)
            {
            }
        }
    }

    /// <summary>As the EC2 provider: one DescribeSubnets of the requested subnets before anything is created; each must
    /// exist and lie in the instance's zone and VPC; ordered from the most free addresses down.</summary>
    private async ValueTask<List<string>> CheckRequestedSubnetsAsync(SimulatedInstance instance, IReadOnlyList<string> requested, AddressUnit unit, CancellationToken cancellationToken)
    {
        IReadOnlyList<SimulatedSubnet> subnets;
        try
        {
            subnets = await CallAsync("DescribeSubnets", true, () => _vpc.DescribeSubnets(requested), cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException e) when (RequestedSubnets.AsInvalidConfiguration(e, requested, []) is { } invalid)
        {
            throw invalid;
        }

        return RequestedSubnets.CheckAndOrder(
            requested,
            subnets.Select(s => new SubnetPlacement(s.SubnetId, s.VpcId, s.AvailabilityZone, s.AvailableIpAddressCount) { FreePrefixBlocks = s.FreePrefixBlocks }),
            _instanceId,
            instance.AvailabilityZone,
            instance.VpcId,
            unit);
    }

    private SortedDictionary<string, string> OwnershipTags() => EniTags.Ownership(_instanceId, _clusterName, AdditionalEniTags);

    /// <summary>As the EC2 provider: one CreateTags with only the missing or different ownership tags; none for a trunk
    /// ENI or when nothing is missing.</summary>
    public async ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        if (eni.Kind == EniKind.Trunk)
        {
            return;
        }

        var missing = EniTags.Missing(eni, OwnershipTags()).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        if (missing.Count == 0)
        {
            return;
        }

        await CallAsync("CreateTags", true, () =>
        {
            _vpc.CreateTags([eni.Id], missing);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Best effort: the original failure must reach the caller; an ENI left behind is tagged for the sweep.</summary>
    private async ValueTask CleanUpAsync(string eniId)
    {
        try
        {
            await DetachAndDeleteEniAsync(eniId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CloudException)
        {
        }
    }

    public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return CallAsync("AssignPrivateIpAddresses", true, () => _vpc.AssignPrivateIpAddresses(
            eniId,
            unit == AddressUnit.SecondaryIPv4 ? count : 0,
            unit == AddressUnit.IPv4Prefix ? count : 0), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken)
    {
        var existing = await GetIPv6PrefixesAsync(eniId, cancellationToken).ConfigureAwait(false);
        return existing.Count > 0
            ? existing
            : await CallAsync("AssignIpv6Addresses", true, () => _vpc.AssignIpv6Addresses(eniId, 0, 1), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        return CallAsync("DescribeNetworkInterfaces", true, () => _vpc.DescribeNetworkInterfaces([eniId]).Items[0].IPv6Prefixes, cancellationToken);
    }

    /// <summary>What the simulated IMDS lists now under the primary MAC's <c>vpc-ipv6-cidr-blocks</c> (no EC2 request).</summary>
    public ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var view = _vpc.GetImdsView(_instanceId);
            var primary = view.Interfaces.FirstOrDefault(i => i.MacAddress == view.PrimaryMacAddress)
                ?? throw new CloudException(CloudErrorKind.Other, $"IMDS shows no primary interface {view.PrimaryMacAddress}");
            return ValueTask.FromResult(primary.VpcIpv6Cidrs);
        }
        catch (SimulatedEc2Exception ex)
        {
            throw new CloudException(CloudErrorKind.Other, ex.Message, ex.Code, ex);
        }
    }

    public async ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        if (cidrs.Count == 0)
        {
            return;
        }

        await CallAsync("UnassignPrivateIpAddresses", true, () =>
        {
            _vpc.UnassignPrivateIpAddresses(eniId, cidrs);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        SimulatedEni eni;
        try
        {
            eni = await CallAsync("DescribeNetworkInterfaces", true, () => _vpc.DescribeNetworkInterfaces([eniId]).Items[0], cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
        {
            return;
        }

        if (eni.Attachment is { } attachment && attachment.Status != "detaching")
        {
            if (attachment.DeviceIndex == 0 && attachment.NetworkCardIndex == 0)
            {
                throw new CloudException(CloudErrorKind.Other, $"refusing to delete the primary ENI {eniId}");
            }

            try
            {
                await CallAsync("DetachNetworkInterface", true, () =>
                {
                    _vpc.DetachNetworkInterface(attachment.AttachmentId);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
            {
                // Detached meanwhile; go on to delete.
            }
        }

        await DeleteWithRetriesAsync(eniId, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask DeleteWithRetriesAsync(string eniId, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CallAsync("DeleteNetworkInterface", true, () =>
                {
                    _vpc.DeleteNetworkInterface(eniId);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
            {
                return;
            }
            catch (CloudException e) when (attempt < DeleteAttempts && (e.IsRetryable || e.ErrorCode == Ec2ErrorCodes.NetworkInterfaceInUse))
            {
                // Detach takes a few seconds to finish; EC2 refuses the delete meanwhile.
                await Task.Delay(delay, _vpc.TimeProvider, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private NetworkInterface ToNetworkInterface(SimulatedEni eni)
    {
        var subnet = _vpc.DescribeSubnets([eni.SubnetId])[0];
        return new NetworkInterface(
            eni.NetworkInterfaceId,
            eni.MacAddress,
            eni.Attachment?.DeviceIndex ?? -1,
            eni.Attachment?.NetworkCardIndex ?? 0,
            eni.SubnetId,
            subnet.Cidr,
            eni.PrimaryIPv4,
            eni.SecondaryIPv4,
            eni.IPv4Prefixes)
        {
            AttachmentId = eni.Attachment?.AttachmentId,
            Tags = eni.Tags,
            Kind = EniTags.KindOf(eni.InterfaceType),
            IsExcludedForPodIPs = SubnetDiscovery && Ec2.Ec2EniProvider.IsSubnetExcluded(subnet.Tags, _clusterName),
            IPv6Addresses = eni.IPv6Addresses,
            IPv6Prefixes = eni.IPv6Prefixes,
        };
    }

    private async ValueTask<T> CallAsync<T>(string action, bool filtered, Func<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _vpc.Requests.ExecuteAsync(action, filtered, call, cancellationToken).ConfigureAwait(false);
        }
        catch (SimulatedEc2Exception e)
        {
            throw new CloudException(Ec2ErrorCodes.Classify(e.Code, e.HttpStatus), $"{action}: {e.Code}: {e.Message}", e.Code, e);
        }
    }
}
