using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Aws.Imds;
using VpcCni.Aws.Limits;
using VpcCni.Cloud;
using Ec2Filter = Amazon.EC2.Model.Filter;
using Ec2NetworkInterface = Amazon.EC2.Model.NetworkInterface;
using NetworkInterface = VpcCni.Cloud.NetworkInterface;

namespace VpcCni.Aws.Ec2;

/// <summary>
/// The cloud port over the real EC2 API (an injected <see cref="IAmazonEC2"/>) and IMDS: upstream's calls
/// and parameters (reference §6.1), tags and description, free device index, subnet discovery, the
/// detach-then-delete sequence, and typed <see cref="CloudException"/>s.
/// </summary>
internal sealed class Ec2EniProvider : IEniProvider, IInstanceEniMetadata, ISubnetPrefixCapacitySource, IVpcCidrSource, IIPv6PrefixProvider, IDisposable
{
    private readonly IAmazonEC2 _ec2;
    private readonly ImdsClient _imds;
    private readonly Ec2ProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Ec2CallPolicy _policy;
    private readonly ConcurrentDictionary<string, Lazy<Task<InstanceLimits>>> _describedTypes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IPNetwork> _subnetCidrs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _identityLock = new(1, 1);
    private InstanceIdentity? _identity;
    private ZoneSubnets? _zoneSubnets;
    private readonly FragmentedSubnets _fragmented;
    private IReadOnlyList<string> _lastCandidates = [];

    /// <param name="priority">Whether requests may wait (the pool's view): with the adaptive budget, requests that may wait
    /// stand aside for nodes whose pods wait; null: every request is urgent.</param>
    /// <param name="membership">This node's place in the fleet (the API server's node list): with the adaptive budget, requests
    /// go on the node's slots of the fleet-wide schedule; null: none.</param>
    public Ec2EniProvider(IAmazonEC2 ec2, ImdsClient imds, Ec2ProviderOptions options, TimeProvider? timeProvider = null, ILogger<Ec2EniProvider>? logger = null, ICloudRequestPriority? priority = null, IFleetMembership? membership = null)
    {
        ArgumentNullException.ThrowIfNull(ec2);
        ArgumentNullException.ThrowIfNull(imds);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _ec2 = ec2;
        _imds = imds;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _policy = new Ec2CallPolicy(options, _time, _logger, priority, membership);
        _fragmented = new FragmentedSubnets(_time);
    }

    /// <inheritdoc />
    public IReadOnlyList<SubnetPrefixCapacity> GetSubnetPrefixCapacity() => _fragmented.Snapshot(Volatile.Read(ref _lastCandidates));

    /// <summary>EC2 requests sent so far (every attempt counts).</summary>
    public long Ec2Calls => _policy.Calls;

    public void Dispose()
    {
        _policy.Dispose();
        _identityLock.Dispose();
    }

    internal ValueTask<T> CallAsync<T>(string action, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, bool filtered = true) =>
        _policy.ExecuteAsync(action, filtered, call, cancellationToken);

    public async ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken)
    {
        if (_identity is { } known)
        {
            return known;
        }

        await _identityLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_identity is { } again)
            {
                return again;
            }

            var mac = await _imds.GetPrimaryMacAsync(cancellationToken).ConfigureAwait(false);
            var subnetId = await _imds.GetSubnetIdAsync(mac, cancellationToken).ConfigureAwait(false);
            var cidr = await _imds.GetSubnetIPv4CidrAsync(mac, cancellationToken).ConfigureAwait(false)
                ?? throw new CloudException(CloudErrorKind.Other, $"IMDS has no subnet-ipv4-cidr-block for the primary MAC {mac}");
            _subnetCidrs[subnetId] = cidr;
            _identity = new InstanceIdentity(
                await _imds.GetInstanceIdAsync(cancellationToken).ConfigureAwait(false),
                await _imds.GetInstanceTypeAsync(cancellationToken).ConfigureAwait(false),
                await _imds.GetAvailabilityZoneAsync(cancellationToken).ConfigureAwait(false),
                mac,
                await _imds.GetLocalIPv4Async(cancellationToken).ConfigureAwait(false),
                await _imds.GetInterfaceIdAsync(mac, cancellationToken).ConfigureAwait(false),
                subnetId,
                cidr,
                [.. (await _imds.GetSecurityGroupIdsAsync(mac, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal)],
                await _imds.GetVpcIPv4CidrsAsync(mac, cancellationToken).ConfigureAwait(false))
            {
                VpcId = await _imds.GetVpcIdAsync(mac, cancellationToken).ConfigureAwait(false),
            };
            return _identity;
        }
        finally
        {
            _identityLock.Release();
        }
    }

    /// <summary>
    /// IMDS <c>vpc-ipv4-cidr-blocks</c> of the primary MAC, read afresh on every call (the identity keeps the list of
    /// node start); an IMDS failure, an unparsable answer or an empty list is a <see cref="CloudException"/>.
    /// </summary>
    public async ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv4CidrsAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The primary MAC never changes: the identity's once read, else one more IMDS read.
            var mac = _identity?.PrimaryMacAddress ?? await _imds.GetPrimaryMacAsync(cancellationToken).ConfigureAwait(false);
            var cidrs = await _imds.GetVpcIPv4CidrsAsync(mac, cancellationToken).ConfigureAwait(false);
            return cidrs.Count > 0
                ? cidrs
                : throw new CloudException(CloudErrorKind.Other, $"IMDS lists no vpc-ipv4-cidr-blocks for the primary MAC {mac}");
        }
        catch (Exception ex) when (ex is ImdsException or FormatException)
        {
            throw new CloudException(CloudErrorKind.Other, "could not read the VPC's CIDR blocks from IMDS: " + ex.Message, innerException: ex);
        }
    }

    public async ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceType);
        if (InstanceLimitsCatalog.TryGet(instanceType, out var known))
        {
            return known;
        }

        // One DescribeInstanceTypes per unknown type, shared by concurrent callers; failures are not cached.
        var lazy = _describedTypes.GetOrAdd(instanceType, t => new Lazy<Task<InstanceLimits>>(() => DescribeInstanceTypeAsync(t, cancellationToken)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _describedTypes.TryRemove(new KeyValuePair<string, Lazy<Task<InstanceLimits>>>(instanceType, lazy));
            throw;
        }
    }

    private async Task<InstanceLimits> DescribeInstanceTypeAsync(string instanceType, CancellationToken cancellationToken)
    {
        DescribeInstanceTypesResponse response;
        try
        {
            response = await CallAsync("DescribeInstanceTypes", ct => _ec2.DescribeInstanceTypesAsync(
                new DescribeInstanceTypesRequest { InstanceTypes = [instanceType] }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException e)
        {
            throw new CloudException(e.Kind,
                $"instance type '{instanceType}' is not in the embedded limits table and DescribeInstanceTypes failed: {e.Message}", e.ErrorCode, e);
        }

        var info = response.InstanceTypes?.FirstOrDefault(t => t.InstanceType?.Value == instanceType)
            ?? throw new CloudException(CloudErrorKind.NotFound,
                $"instance type '{instanceType}' is not in the embedded limits table and EC2 does not describe it", Ec2ErrorCodes.InvalidInstanceType);
        var network = info.NetworkInfo ?? throw new CloudException(CloudErrorKind.Other, $"EC2 returned no NetworkInfo for instance type '{instanceType}'");
        var defaultCard = network.DefaultNetworkCardIndex ?? 0;
        var cardInterfaces = network.NetworkCards?.FirstOrDefault(c => c.NetworkCardIndex == defaultCard)?.MaximumNetworkInterfaces;
        AwsLog.InstanceTypeDescribed(_logger, instanceType);
        return new InstanceLimits(instanceType, cardInterfaces ?? network.MaximumNetworkInterfaces ?? 0, network.Ipv4AddressesPerInterface ?? 0)
        {
            NetworkCards = network.MaximumNetworkCards ?? 1,
            DefaultNetworkCardIndex = defaultCard,
            Hypervisor = info.Hypervisor?.Value ?? "unknown",
            IsBareMetal = info.BareMetal ?? false,
            VCpus = info.VCpuInfo?.DefaultVCpus,
        };
    }

    public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
    {
        var self = await GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var enis = await DescribeAllAsync([new Ec2Filter("attachment.instance-id", [self.InstanceId])], cancellationToken).ConfigureAwait(false);
        var subnets = _options.SubnetDiscovery && enis.Count > 0
            ? await GetSubnetsOfZoneAsync(self, cancellationToken).ConfigureAwait(false)
            : null;
        var result = new List<NetworkInterface>(enis.Count);
        foreach (var eni in enis.OrderBy(e => e.Attachment?.NetworkCardIndex ?? 0).ThenBy(e => e.Attachment?.DeviceIndex ?? 0))
        {
            var model = await ToModelAsync(eni, cancellationToken).ConfigureAwait(false);
            if (subnets is not null && subnets.TryGetValue(eni.SubnetId, out var subnet) && IsSubnetExcluded(subnet, _options.ClusterName))
            {
                model = model with { IsExcludedForPodIPs = true };
            }

            result.Add(model);
        }

        return result;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<ImdsInterface> interfaces;
        try
        {
            interfaces = await _imds.GetInterfacesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ImdsException or HttpRequestException or FormatException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // No view now (IMDS down or timing out): the reconcile asks EC2 instead.
            return null;
        }

        var result = new List<NetworkInterface>(interfaces.Count);
        foreach (var i in interfaces)
        {
            // IMDS lists an interface's primary address first (local-ipv4s); an EFA-only interface has none.
            var primary = i.LocalIPv4s.Count > 0 ? i.LocalIPv4s[0] : IPAddress.Any;
            result.Add(new NetworkInterface(
                i.InterfaceId, i.MacAddress, i.DeviceNumber, i.NetworkCard, i.SubnetId ?? string.Empty,
                i.SubnetIPv4Cidr ?? new IPNetwork(IPAddress.Any, 0), primary, [.. i.LocalIPv4s.Skip(1)], i.IPv4Prefixes)
            {
                Kind = i.IsEfaOnly ? EniKind.EfaOnly : EniKind.Interface,
            });
        }

        return result;
    }

    /// <summary>
    /// Upstream's IsSubnetExcluded: tag <c>kubernetes.io/role/cni</c> = <c>0</c> → excluded; no tag (or an empty value)
    /// → not excluded; another value → excluded only if the cluster tags name other clusters but not CLUSTER_NAME.
    /// </summary>
    internal static bool IsSubnetExcluded(Subnet subnet, string? clusterName) =>
        IsSubnetExcluded((subnet.Tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? string.Empty, StringComparer.Ordinal), clusterName);

    internal static bool IsSubnetExcluded(IReadOnlyDictionary<string, string> tags, string? clusterName)
    {
        if (!tags.TryGetValue(EniTags.SubnetRole, out var role) || role.Length == 0)
        {
            return false;
        }

        if (role == "0")
        {
            return true;
        }

        var clusterKeys = tags.Keys.Where(k => k.StartsWith(EniTags.SubnetClusterPrefix, StringComparison.Ordinal)).ToList();
        return !(clusterName is null || clusterKeys.Count == 0 || clusterKeys.Contains(EniTags.SubnetClusterPrefix + clusterName));
    }

    /// <summary>
    /// The subnets of this node's VPC and zone with their tags: one DescribeSubnets, reused for
    /// <see cref="Ec2ProviderOptions.SubnetTagCacheTtl"/> (so a reconcile costs at most one, never one per ENI). When
    /// EC2 cannot answer, the last known answer stands (an excluded subnet does not become usable on a hiccup), and with
    /// none, no subnet is excluded (upstream: a subnet not found is not excluded).
    /// </summary>
    private async ValueTask<IReadOnlyDictionary<string, Subnet>> GetSubnetsOfZoneAsync(InstanceIdentity self, CancellationToken cancellationToken)
    {
        var cached = Volatile.Read(ref _zoneSubnets);
        if (cached is not null && _time.GetElapsedTime(cached.Stamp) < _options.SubnetTagCacheTtl)
        {
            return cached.Subnets;
        }

        try
        {
            return (await DescribeZoneSubnetsAsync(self, cancellationToken).ConfigureAwait(false)).ToDictionary(s => s.SubnetId, StringComparer.Ordinal);
        }
        catch (CloudException e)
        {
            AwsLog.SubnetTagsUnavailable(_logger, e.Message);
            return cached?.Subnets ?? new Dictionary<string, Subnet>(StringComparer.Ordinal);
        }
    }

    /// <summary>DescribeSubnets of the node's VPC and zone; refreshes the subnet CIDR and tag caches.</summary>
    private async ValueTask<List<Subnet>> DescribeZoneSubnetsAsync(InstanceIdentity self, CancellationToken cancellationToken)
    {
        var response = await CallAsync("DescribeSubnets", ct => _ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest
        {
            Filters = [new Ec2Filter("vpc-id", [self.VpcId]), new Ec2Filter("availability-zone", [self.AvailabilityZone])],
        }, ct), cancellationToken).ConfigureAwait(false);
        var subnets = response.Subnets ?? [];
        foreach (var subnet in subnets)
        {
            if (IPNetwork.TryParse(subnet.CidrBlock, out var cidr))
            {
                _subnetCidrs[subnet.SubnetId] = cidr;
            }
        }

        Volatile.Write(ref _zoneSubnets, new ZoneSubnets(subnets.ToDictionary(s => s.SubnetId, StringComparer.Ordinal), _time.GetTimestamp()));
        return subnets;
    }

    private sealed record ZoneSubnets(IReadOnlyDictionary<string, Subnet> Subnets, long Stamp);

    /// <summary>DescribeNetworkInterfaces with filters, following NextToken (page size 1000).</summary>
    internal async ValueTask<List<Ec2NetworkInterface>> DescribeAllAsync(List<Ec2Filter> filters, CancellationToken cancellationToken)
    {
        var all = new List<Ec2NetworkInterface>();
        string? token = null;
        do
        {
            var request = new DescribeNetworkInterfacesRequest { Filters = filters, MaxResults = 1000, NextToken = token };
            var page = await CallAsync("DescribeNetworkInterfaces", ct => _ec2.DescribeNetworkInterfacesAsync(request, ct), cancellationToken).ConfigureAwait(false);
            all.AddRange(page.NetworkInterfaces ?? []);
            token = string.IsNullOrEmpty(page.NextToken) ? null : page.NextToken;
        }
        while (token is not null);
        return all;
    }

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var requested = RequestedSubnets.Of(request);
        var self = await GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var limits = await GetInstanceLimitsAsync(self.InstanceType, cancellationToken).ConfigureAwait(false);
        var deviceIndex = await FindFreeDeviceIndexAsync(self, request.NetworkCardIndex, cancellationToken).ConfigureAwait(false);
        var count = Math.Max(0, Math.Min(request.Count, limits.IPv4PerEni - 1));
        var groups = (request.SecurityGroupIds ?? self.SecurityGroupIds).Order(StringComparer.Ordinal).ToList();
        var created = await CreateInSomeSubnetAsync(self, request, requested, groups, count, cancellationToken).ConfigureAwait(false);
        var eniId = created.NetworkInterfaceId;

        string? attachmentId = null;
        CloudException? alreadyAttached = null;
        try
        {
            var attach = await CallAsync("AttachNetworkInterface", ct => _ec2.AttachNetworkInterfaceAsync(new AttachNetworkInterfaceRequest
            {
                DeviceIndex = deviceIndex,
                InstanceId = self.InstanceId,
                NetworkInterfaceId = eniId,
                NetworkCardIndex = request.NetworkCardIndex,
            }, ct), cancellationToken).ConfigureAwait(false);
            attachmentId = attach.AttachmentId;
        }
        catch (CloudException e) when (!cancellationToken.IsCancellationRequested && IsAlreadyAttachedError(e))
        {
            alreadyAttached = e;
        }
        catch (Exception e)
        {
            // A cancelled or failed call may still have attached the ENI on EC2's side: describe, detach if so, delete.
            AwsLog.AttachCleanup(_logger, eniId, e.Message);
            await CleanUpAfterFailedAttachAsync(eniId).ConfigureAwait(false);
            throw;
        }

        if (alreadyAttached is not null)
        {
            // An earlier attempt of this attach may have gone through with its reply lost, so that the retry was refused:
            // the ENI (created just now, known to no one else) attached to this instance is that attempt's work.
            var adopted = await FindOwnAttachmentAsync(eniId, self.InstanceId, cancellationToken).ConfigureAwait(false);
            if (adopted is null)
            {
                AwsLog.AttachCleanup(_logger, eniId, alreadyAttached.Message);
                await CleanUpAfterFailedAttachAsync(eniId).ConfigureAwait(false);
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(alreadyAttached);
            }

            AwsLog.AttachAdopted(_logger, eniId, adopted.DeviceIndex ?? deviceIndex, alreadyAttached.ErrorCode ?? alreadyAttached.Kind.ToString());
            attachmentId = adopted.AttachmentId;
            deviceIndex = adopted.DeviceIndex ?? deviceIndex;
        }

        try
        {
            await CallAsync("ModifyNetworkInterfaceAttribute", ct => _ec2.ModifyNetworkInterfaceAttributeAsync(new ModifyNetworkInterfaceAttributeRequest
            {
                NetworkInterfaceId = eniId,
                Attachment = new NetworkInterfaceAttachmentChanges { AttachmentId = attachmentId, DeleteOnTermination = true },
            }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A cancelled or failed call may still have attached the ENI on EC2's side: describe, detach if so, delete.
            AwsLog.AttachCleanup(_logger, eniId, e.Message);
            await CleanUpAfterFailedAttachAsync(eniId).ConfigureAwait(false);
            throw;
        }

        AwsLog.EniCreated(_logger, eniId, created.SubnetId, deviceIndex);
        var model = await ToModelAsync(created, cancellationToken).ConfigureAwait(false);
        return model with { DeviceIndex = deviceIndex, NetworkCardIndex = request.NetworkCardIndex, AttachmentId = attachmentId };
    }

    /// <summary>
    /// Best effort and bounded: a shutdown must not wait on it for long, and the original error must reach the caller.
    /// An ENI left behind carries our tags and is removed by the leaked-ENI sweep.
    /// </summary>
    private async ValueTask CleanUpAfterFailedAttachAsync(string eniId)
    {
        using var limit = new CancellationTokenSource(_options.AttachCleanupTimeout, _time);
        try
        {
            await DetachAndDeleteEniAsync(eniId, limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CloudException or OperationCanceledException)
        {
            AwsLog.AttachCleanupFailed(_logger, eniId, ex.Message);
        }
    }

    /// <summary>EC2's answers to an attach of an ENI that is already attached, or at a device index already taken.</summary>
    private static bool IsAlreadyAttachedError(CloudException e) =>
        e.ErrorCode is Ec2ErrorCodes.NetworkInterfaceInUse or "InvalidNetworkInterfaceID.InUse"
        || (e.ErrorCode == Ec2ErrorCodes.InvalidParameterValue && e.Message.Contains("device index", StringComparison.OrdinalIgnoreCase));

    /// <summary>The ENI's live attachment to this instance, if it has one; null otherwise (or if EC2 cannot tell).</summary>
    private async ValueTask<NetworkInterfaceAttachment?> FindOwnAttachmentAsync(string eniId, string instanceId, CancellationToken cancellationToken)
    {
        try
        {
            var response = await CallAsync("DescribeNetworkInterfaces", ct => _ec2.DescribeNetworkInterfacesAsync(
                new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eniId] }, ct), cancellationToken).ConfigureAwait(false);
            var attachment = response.NetworkInterfaces?.FirstOrDefault()?.Attachment;
            return attachment is not null && attachment.InstanceId == instanceId && attachment.Status?.Value is not ("detaching" or "detached")
                ? attachment
                : null;
        }
        catch (CloudException)
        {
            return null;
        }
    }

    private async ValueTask<int> FindFreeDeviceIndexAsync(InstanceIdentity self, int networkCardIndex, CancellationToken cancellationToken)
    {
        var response = await CallAsync("DescribeInstances", ct => _ec2.DescribeInstancesAsync(
            new DescribeInstancesRequest { InstanceIds = [self.InstanceId] }, ct), cancellationToken).ConfigureAwait(false);
        var instance = response.Reservations?.SelectMany(r => r.Instances ?? []).FirstOrDefault(i => i.InstanceId == self.InstanceId)
            ?? throw new CloudException(CloudErrorKind.NotFound, $"DescribeInstances did not return {self.InstanceId}", Ec2ErrorCodes.InstanceNotFound);
        var used = (instance.NetworkInterfaces ?? [])
            .Where(n => (n.Attachment?.NetworkCardIndex ?? 0) == networkCardIndex)
            .Select(n => n.Attachment?.DeviceIndex ?? -1)
            .ToHashSet();
        for (var i = 0; i < 100; i++)
        {
            if (!used.Contains(i))
            {
                return i;
            }
        }

        throw new CloudException(CloudErrorKind.AttachmentLimitExceeded,
            $"no free device index on network card {networkCardIndex} of {self.InstanceId}", Ec2ErrorCodes.AttachmentLimitExceeded);
    }

    private async ValueTask<Ec2NetworkInterface> CreateInSomeSubnetAsync(
        InstanceIdentity self, EniCreateRequest request, IReadOnlyList<string>? requested, List<string> groups, int count, CancellationToken cancellationToken)
    {
        var candidates = requested is not null
            ? await CheckRequestedSubnetsAsync(self, requested, request.Unit, cancellationToken).ConfigureAwait(false)
            : await CandidateSubnetsAsync(self, cancellationToken, request.Unit).ConfigureAwait(false);
        CloudException? last = null;
        foreach (var subnetId in candidates)
        {
            try
            {
                return await CreateNotingFragmentationAsync(self, subnetId, request, groups, count, cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (RequestedSubnets.AsInvalidConfiguration(e, [subnetId], groups) is { } invalid)
            {
                // Another subnet would not help against a missing security group; EC2 created nothing.
                AwsLog.InvalidEniConfiguration(_logger, invalid.Message);
                throw invalid;
            }
            catch (CloudException e) when (e.Kind is CloudErrorKind.SubnetFull or CloudErrorKind.NoFreePrefix && candidates.Count > 1)
            {
                AwsLog.SubnetSkipped(_logger, subnetId, e.ErrorCode ?? e.Kind.ToString());
                last = e;
            }
        }

        throw last ?? new CloudException(CloudErrorKind.SubnetFull,
            "no valid subnets available for ENI creation - every subnet is tagged kubernetes.io/role/cni=0 or belongs to another cluster");
    }

    /// <summary>Creates in one subnet and remembers whether it granted prefixes or answered InsufficientCidrBlocks.</summary>
    private async ValueTask<Ec2NetworkInterface> CreateNotingFragmentationAsync(
        InstanceIdentity self, string subnetId, EniCreateRequest request, List<string> groups, int count, CancellationToken cancellationToken)
    {
        try
        {
            var created = await CreateAsync(self, subnetId, request, groups, count, cancellationToken).ConfigureAwait(false);
            if (request.Unit == AddressUnit.IPv4Prefix && count > 0)
            {
                _fragmented.NoteGranted(subnetId);
            }

            return created;
        }
        catch (CloudException e) when (e.Kind == CloudErrorKind.NoFreePrefix)
        {
            _fragmented.NoteRefused(subnetId);
            AwsLog.SubnetFragmented(_logger, subnetId, FragmentedSubnets.Memory.TotalMinutes);
            throw;
        }
    }

    private SubnetPlacement Placement(Subnet s) => new(s.SubnetId, s.VpcId, s.AvailabilityZone, s.AvailableIpAddressCount ?? 0)
    {
        FreePrefixBlocks = _fragmented.NoteReported(s.SubnetId, (s.Tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? string.Empty, StringComparer.Ordinal)),
        RecentlyFragmented = _fragmented.RecentlyRefused(s.SubnetId),
    };

    /// <summary>
    /// The subnets the request names (an ENIConfig's), checked with one DescribeSubnets before anything is created: each
    /// must exist and lie in this instance's zone and VPC (else <see cref="CloudErrorKind.InvalidConfiguration"/>); then
    /// ordered from the most free addresses down. Subnet tags do not exclude them: naming a subnet is choosing it.
    /// </summary>
    private async ValueTask<List<string>> CheckRequestedSubnetsAsync(InstanceIdentity self, IReadOnlyList<string> requested, AddressUnit unit, CancellationToken cancellationToken)
    {
        try
        {
            DescribeSubnetsResponse response;
            try
            {
                response = await CallAsync("DescribeSubnets", ct => _ec2.DescribeSubnetsAsync(
                    new DescribeSubnetsRequest { SubnetIds = [.. requested] }, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (RequestedSubnets.AsInvalidConfiguration(e, requested, []) is { } invalid)
            {
                throw invalid;
            }

            var subnets = response.Subnets ?? [];
            foreach (var subnet in subnets)
            {
                if (IPNetwork.TryParse(subnet.CidrBlock, out var cidr))
                {
                    _subnetCidrs[subnet.SubnetId] = cidr;
                }
            }

            var ordered = RequestedSubnets.CheckAndOrder(
                requested,
                subnets.Select(Placement),
                self.InstanceId,
                self.AvailabilityZone,
                self.VpcId,
                unit);
            Volatile.Write(ref _lastCandidates, ordered);
            AwsLog.RequestedSubnetsOrdered(_logger, string.Join(", ", ordered));
            return ordered;
        }
        catch (CloudException e) when (e.Kind == CloudErrorKind.InvalidConfiguration)
        {
            AwsLog.InvalidEniConfiguration(_logger, e.Message);
            throw;
        }
    }

    /// <summary>Subnets to try, upstream's way: discovery on → tagged subnets of the VPC and AZ by free addresses; for
    /// prefixes, fragmentation-aware (<see cref="RequestedSubnets.Order"/>).</summary>
    internal async ValueTask<List<string>> CandidateSubnetsAsync(InstanceIdentity self, CancellationToken cancellationToken, AddressUnit unit = AddressUnit.SecondaryIPv4)
    {
        if (!_options.SubnetDiscovery)
        {
            Volatile.Write(ref _lastCandidates, [self.SubnetId]);
            return [self.SubnetId];
        }

        List<Subnet> subnets;
        try
        {
            subnets = await DescribeZoneSubnetsAsync(self, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException e) when (e.Kind != CloudErrorKind.Unauthorized)
        {
            return [self.SubnetId];
        }

        // Stable, as upstream's sort.
        List<string> ordered = [.. RequestedSubnets.Order(subnets.Where(s => IsValidForEniCreation(s, self.SubnetId, _options.ClusterName)).Select(Placement), unit)
            .Select(s => s.SubnetId)];
        Volatile.Write(ref _lastCandidates, ordered);
        return ordered;
    }

    internal static bool IsValidForEniCreation(Subnet subnet, string primarySubnetId, string? clusterName)
    {
        var tags = (subnet.Tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? string.Empty, StringComparer.Ordinal);
        if (!tags.TryGetValue(EniTags.SubnetRole, out var role) || role.Length == 0)
        {
            return subnet.SubnetId == primarySubnetId;
        }

        if (role == "0")
        {
            return false;
        }

        var clusterKeys = tags.Keys.Where(k => k.StartsWith(EniTags.SubnetClusterPrefix, StringComparison.Ordinal)).ToList();
        return clusterName is null || clusterKeys.Count == 0 || clusterKeys.Contains(EniTags.SubnetClusterPrefix + clusterName);
    }

    private async ValueTask<Ec2NetworkInterface> CreateAsync(
        InstanceIdentity self, string subnetId, EniCreateRequest request, List<string> groups, int count, CancellationToken cancellationToken)
    {
        var tags = OwnershipTags(self.InstanceId);
        tags[EniTags.CreatedAt] = _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

        foreach (var (key, value) in request.Tags ?? new Dictionary<string, string>())
        {
            tags[key] = value;
        }

        var create = new CreateNetworkInterfaceRequest
        {
            // One token per logical create, the same on every retry of it: a create whose reply was lost and is then
            // retried returns the ENI it made instead of making a second one nobody owns.
            ClientToken = Guid.NewGuid().ToString("N"),
            SubnetId = subnetId,
            Description = EniTags.DescriptionPrefix + self.InstanceId,
            Groups = groups,
            TagSpecifications =
            [
                new TagSpecification
                {
                    ResourceType = ResourceType.NetworkInterface,
                    Tags = [.. tags.Select(t => new Tag(t.Key, t.Value))],
                },
            ],
        };
        if (count > 0)
        {
            if (request.Unit == AddressUnit.IPv4Prefix)
            {
                create.Ipv4PrefixCount = count;
            }
            else
            {
                create.SecondaryPrivateIpAddressCount = count;
            }
        }

        var response = await CallAsync("CreateNetworkInterface", ct => _ec2.CreateNetworkInterfaceAsync(create, ct), cancellationToken).ConfigureAwait(false);
        return response.NetworkInterface;
    }

    private SortedDictionary<string, string> OwnershipTags(string instanceId) =>
        EniTags.Ownership(instanceId, _options.ClusterName, _options.AdditionalEniTags);

    /// <summary>
    /// Upstream's TagENI: one CreateTags with only the ownership tags the ENI lacks or carries with another value (keys
    /// sorted); no call when none is missing; trunk ENIs are left alone. Failures leave as <see cref="CloudException"/>.
    /// </summary>
    public async ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        if (eni.Kind == EniKind.Trunk)
        {
            return;
        }

        var self = await GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var missing = EniTags.Missing(eni, OwnershipTags(self.InstanceId)).Select(t => new Tag(t.Key, t.Value)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        await CallAsync("CreateTags", ct => _ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [eni.Id], Tags = missing }, ct), cancellationToken)
            .ConfigureAwait(false);
        AwsLog.EniTagged(_logger, eni.Id, missing.Count);
    }

    public async ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var request = new AssignPrivateIpAddressesRequest { NetworkInterfaceId = eniId };
        if (unit == AddressUnit.IPv4Prefix)
        {
            request.Ipv4PrefixCount = count;
        }
        else
        {
            request.SecondaryPrivateIpAddressCount = count;
        }

        var response = await CallAsync("AssignPrivateIpAddresses", ct => _ec2.AssignPrivateIpAddressesAsync(request, ct), cancellationToken).ConfigureAwait(false);
        return unit == AddressUnit.IPv4Prefix
            ? [.. (response.AssignedIpv4Prefixes ?? []).Select(p => IPNetwork.Parse(p.Ipv4Prefix))]
            : [.. (response.AssignedPrivateIpAddresses ?? []).Select(a => new IPNetwork(IPAddress.Parse(a.PrivateIpAddress), 32))];
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken)
    {
        var existing = await GetIPv6PrefixesAsync(eniId, cancellationToken).ConfigureAwait(false);
        if (existing.Count > 0)
        {
            return existing;
        }

        var response = await CallAsync("AssignIpv6Addresses", ct => _ec2.AssignIpv6AddressesAsync(
            new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, ct), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<IPNetwork> assigned = [.. (response.AssignedIpv6Prefixes ?? []).Select(p => IPNetwork.Parse(p))];
        return assigned.Count > 0
            ? assigned
            : throw new CloudException(CloudErrorKind.Other, $"AssignIpv6Addresses on {eniId} returned no IPv6 prefix");
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        var response = await CallAsync("DescribeNetworkInterfaces", ct => _ec2.DescribeNetworkInterfacesAsync(
            new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eniId] }, ct), cancellationToken).ConfigureAwait(false);
        var eni = (response.NetworkInterfaces ?? []).FirstOrDefault(e => e.NetworkInterfaceId == eniId)
            ?? throw new CloudException(CloudErrorKind.NotFound, $"EC2 does not list {eniId}");
        return [.. (eni.Ipv6Prefixes ?? []).Select(p => IPNetwork.Parse(p.Ipv6Prefix))];
    }

    /// <summary>IMDS <c>vpc-ipv6-cidr-blocks</c> of the primary MAC, read afresh; an IMDS failure is a <see cref="CloudException"/>.</summary>
    public async ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var mac = _identity?.PrimaryMacAddress ?? await _imds.GetPrimaryMacAsync(cancellationToken).ConfigureAwait(false);
            return await _imds.GetVpcIPv6CidrsAsync(mac, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ImdsException or FormatException)
        {
            throw new CloudException(CloudErrorKind.Other, "could not read the VPC's IPv6 CIDR blocks from IMDS: " + ex.Message, innerException: ex);
        }
    }

    public async ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        ArgumentNullException.ThrowIfNull(cidrs);
        var addresses = cidrs.Where(c => c.PrefixLength == 32).Select(c => c.BaseAddress.ToString()).ToList();
        var prefixes = cidrs.Where(c => c.PrefixLength != 32).Select(c => c.ToString()).ToList();
        if (addresses.Count > 0)
        {
            await CallAsync("UnassignPrivateIpAddresses", ct => _ec2.UnassignPrivateIpAddressesAsync(
                new UnassignPrivateIpAddressesRequest { NetworkInterfaceId = eniId, PrivateIpAddresses = addresses }, ct), cancellationToken).ConfigureAwait(false);
        }

        if (prefixes.Count > 0)
        {
            await CallAsync("UnassignPrivateIpAddresses", ct => _ec2.UnassignPrivateIpAddressesAsync(
                new UnassignPrivateIpAddressesRequest { NetworkInterfaceId = eniId, Ipv4Prefixes = prefixes }, ct), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eniId);
        Ec2NetworkInterface? eni;
        try
        {
            var response = await CallAsync("DescribeNetworkInterfaces", ct => _ec2.DescribeNetworkInterfacesAsync(
                new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eniId] }, ct), cancellationToken).ConfigureAwait(false);
            eni = response.NetworkInterfaces?.FirstOrDefault();
        }
        catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
        {
            return;
        }

        if (eni is null)
        {
            return;
        }

        if (eni.Attachment is { } attachment && attachment.Status?.Value is not ("detaching" or "detached"))
        {
            if ((attachment.DeviceIndex ?? 0) == 0 && (attachment.NetworkCardIndex ?? 0) == 0)
            {
                throw new CloudException(CloudErrorKind.Other, $"refusing to detach the primary ENI {eniId}");
            }

            try
            {
                await CallAsync("DetachNetworkInterface", ct => _ec2.DetachNetworkInterfaceAsync(
                    new DetachNetworkInterfaceRequest { AttachmentId = attachment.AttachmentId }, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
            {
                // Already detached (or the ENI is gone): the delete below settles it.
            }
        }

        await DeleteWithRetriesAsync(eniId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>DeleteNetworkInterface, retried while EC2 still sees the ENI in use (detach takes seconds) and on
    /// throttling or transient failures, in one retry layer of at most <see cref="Ec2ProviderOptions.DeleteAttempts"/>
    /// requests; NotFound counts as deleted (returns false).</summary>
    internal async ValueTask<bool> DeleteWithRetriesAsync(string eniId, CancellationToken cancellationToken)
    {
        try
        {
            await _policy.ExecuteDeleteAsync(ct => _ec2.DeleteNetworkInterfaceAsync(
                new DeleteNetworkInterfaceRequest { NetworkInterfaceId = eniId }, ct), cancellationToken).ConfigureAwait(false);
            AwsLog.EniDeleted(_logger, eniId);
            return true;
        }
        catch (CloudException e) when (e.Kind == CloudErrorKind.NotFound)
        {
            return false;
        }
    }

    private async ValueTask<NetworkInterface> ToModelAsync(Ec2NetworkInterface eni, CancellationToken cancellationToken)
    {
        var addresses = eni.PrivateIpAddresses ?? [];
        var primary = addresses.FirstOrDefault(a => a.Primary == true)?.PrivateIpAddress ?? eni.PrivateIpAddress;
        return new NetworkInterface(
            eni.NetworkInterfaceId,
            eni.MacAddress?.ToLowerInvariant() ?? string.Empty,
            eni.Attachment?.DeviceIndex ?? -1,
            eni.Attachment?.NetworkCardIndex ?? 0,
            eni.SubnetId,
            await GetSubnetCidrAsync(eni.SubnetId, cancellationToken).ConfigureAwait(false),
            IPAddress.Parse(primary),
            [.. addresses.Where(a => a.Primary != true).Select(a => IPAddress.Parse(a.PrivateIpAddress))],
            [.. (eni.Ipv4Prefixes ?? []).Select(p => IPNetwork.Parse(p.Ipv4Prefix))])
        {
            AttachmentId = eni.Attachment?.AttachmentId,
            Kind = EniTags.KindOf(eni.InterfaceType?.Value),
            Tags = (eni.TagSet ?? []).ToDictionary(t => t.Key, t => t.Value ?? string.Empty, StringComparer.Ordinal),
            IPv6Addresses = [.. (eni.Ipv6Addresses ?? []).Select(a => IPAddress.Parse(a.Ipv6Address))],
            IPv6Prefixes = [.. (eni.Ipv6Prefixes ?? []).Select(p => IPNetwork.Parse(p.Ipv6Prefix))],
        };
    }

    private async ValueTask<IPNetwork> GetSubnetCidrAsync(string subnetId, CancellationToken cancellationToken)
    {
        if (_subnetCidrs.TryGetValue(subnetId, out var cidr))
        {
            return cidr;
        }

        var response = await CallAsync("DescribeSubnets", ct => _ec2.DescribeSubnetsAsync(
            new DescribeSubnetsRequest { SubnetIds = [subnetId] }, ct), cancellationToken).ConfigureAwait(false);
        var subnet = response.Subnets?.FirstOrDefault()
            ?? throw new CloudException(CloudErrorKind.NotFound, $"subnet {subnetId} not found", Ec2ErrorCodes.SubnetNotFound);
        cidr = IPNetwork.Parse(subnet.CidrBlock);
        _subnetCidrs[subnetId] = cidr;
        return cidr;
    }
}
