using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>What the checks of <see cref="RequestedSubnets"/> need to know of a subnet.</summary>
internal readonly record struct SubnetPlacement(string SubnetId, string VpcId, string AvailabilityZone, int AvailableIpAddressCount)
{
    /// <summary>Free aligned /28 blocks, when the cloud reports them (the emulator does; EC2 does not).</summary>
    public int? FreePrefixBlocks { get; init; }

    /// <summary>The subnet answered InsufficientCidrBlocks recently.</summary>
    public bool RecentlyFragmented { get; init; }
}

/// <summary>
/// The subnets and security groups a create request names (<see cref="EniCreateRequest.SubnetId"/>,
/// <see cref="EniCreateRequest.SubnetIds"/>, <see cref="EniCreateRequest.SecurityGroupIds"/>; an ENIConfig's): checked
/// against the instance before anything is created, so a wrong configuration fails with
/// <see cref="CloudErrorKind.InvalidConfiguration"/> and leaves no ENI behind. Shared by the EC2 and the simulated
/// provider so that both answer alike.
/// </summary>
internal static class RequestedSubnets
{
    /// <summary>The subnets the request names, duplicates dropped; null when it names none (the provider chooses).</summary>
    public static IReadOnlyList<string>? Of(EniCreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.SubnetId is not null && request.SubnetIds is not null)
        {
            throw new ArgumentException("set EniCreateRequest.SubnetId or SubnetIds, not both", nameof(request));
        }

        if (request.SubnetId is { } one)
        {
            return string.IsNullOrWhiteSpace(one)
                ? throw new ArgumentException("EniCreateRequest.SubnetId must not be empty", nameof(request))
                : [one];
        }

        if (request.SubnetIds is { } many)
        {
            return many.Count == 0 || many.Any(string.IsNullOrWhiteSpace)
                ? throw new ArgumentException("EniCreateRequest.SubnetIds must name at least one subnet and no empty id", nameof(request))
                : [.. many.Distinct(StringComparer.Ordinal)];
        }

        return null;
    }

    /// <summary>
    /// Checks that every requested subnet exists and lies in the instance's zone and VPC (an ENI can only be attached to an
    /// instance of its own zone), then orders them from the most free addresses down; ties keep the requested order.
    /// </summary>
    public static List<string> CheckAndOrder(
        IReadOnlyList<string> requested, IEnumerable<SubnetPlacement> described, string instanceId, string availabilityZone, string? vpcId,
        AddressUnit unit = AddressUnit.SecondaryIPv4)
    {
        var byId = new Dictionary<string, SubnetPlacement>(StringComparer.Ordinal);
        foreach (var subnet in described)
        {
            byId.TryAdd(subnet.SubnetId, subnet);
        }

        var missing = requested.Where(id => !byId.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            throw new CloudException(CloudErrorKind.InvalidConfiguration,
                $"subnet {string.Join(", ", missing)} requested for a new ENI does not exist", Ec2ErrorCodes.SubnetNotFound);
        }

        foreach (var id in requested)
        {
            var subnet = byId[id];
            if (subnet.AvailabilityZone != availabilityZone)
            {
                throw new CloudException(CloudErrorKind.InvalidConfiguration,
                    $"subnet {id} requested for a new ENI is in availability zone {subnet.AvailabilityZone}, but instance {instanceId} is in {availabilityZone}; an ENI can only be attached in its own zone");
            }

            if (vpcId is not null && subnet.VpcId != vpcId)
            {
                throw new CloudException(CloudErrorKind.InvalidConfiguration,
                    $"subnet {id} requested for a new ENI is in VPC {subnet.VpcId}, but instance {instanceId} is in VPC {vpcId}");
            }
        }

        return [.. Order(requested.Select(id => byId[id]), unit).Select(s => s.SubnetId)];
    }

    /// <summary>
    /// The order to try subnets in. Addresses: the most free addresses first (upstream). Prefixes (VpcCni): subnets that
    /// refused a /28 recently last, then the most free /28 blocks first where the cloud reports them (else a subnet's
    /// free addresses / 16, the most it could hold), then the most free addresses. Stable: ties keep the given order.
    /// </summary>
    public static IEnumerable<SubnetPlacement> Order(IEnumerable<SubnetPlacement> subnets, AddressUnit unit) => unit == AddressUnit.IPv4Prefix
        ? subnets.OrderBy(s => s.RecentlyFragmented).ThenByDescending(s => s.FreePrefixBlocks ?? s.AvailableIpAddressCount / 16).ThenByDescending(s => s.AvailableIpAddressCount)
        : subnets.OrderByDescending(s => s.AvailableIpAddressCount);

    /// <summary>EC2's answers that a subnet or security group does not exist (or is malformed), as
    /// <see cref="CloudErrorKind.InvalidConfiguration"/> naming what was asked for; null for any other failure.</summary>
    public static CloudException? AsInvalidConfiguration(CloudException e, IReadOnlyList<string> subnetIds, IReadOnlyList<string> groups) => e.ErrorCode switch
    {
        Ec2ErrorCodes.SubnetNotFound or Ec2ErrorCodes.SubnetIdMalformed => new CloudException(CloudErrorKind.InvalidConfiguration,
            $"subnet {string.Join(", ", subnetIds)} requested for a new ENI: {e.Message}", e.ErrorCode, e),
        Ec2ErrorCodes.SecurityGroupNotFound or Ec2ErrorCodes.SecurityGroupIdNotFound or Ec2ErrorCodes.GroupIdMalformed => new CloudException(
            CloudErrorKind.InvalidConfiguration, $"security group {string.Join(", ", groups)} requested for a new ENI: {e.Message}", e.ErrorCode, e),
        _ => null,
    };
}
