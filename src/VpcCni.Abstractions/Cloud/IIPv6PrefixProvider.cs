using System.Net;

namespace VpcCni.Cloud;

/// <summary>
/// The cloud calls of an IPv6 cluster (upstream §2.20): each ENI used for pods carries one IPv6 /80 prefix, and the
/// VPC's IPv6 CIDR blocks go to the plugin. Implemented by the EC2 provider and the simulated VPC; an embedder's cloud
/// port that does not implement it cannot run ENABLE_IPv6.
/// </summary>
public interface IIPv6PrefixProvider
{
    /// <summary>
    /// Makes sure the ENI holds an IPv6 /80 prefix: when EC2 shows none, assigns one (AssignIpv6Addresses with
    /// Ipv6PrefixCount=1); extra prefixes are left as they are, never freed. Returns the ENI's IPv6 prefixes afterwards.
    /// </summary>
    ValueTask<IReadOnlyList<IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken);

    /// <summary>The ENI's IPv6 prefixes as EC2 shows them now (empty when it has none).</summary>
    ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken);

    /// <summary>The VPC's IPv6 CIDR blocks (IMDS <c>vpc-ipv6-cidr-blocks</c> of the primary MAC), read afresh.</summary>
    ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken);
}
