using System.Net;

namespace VpcCni.Cloud;

/// <summary>
/// The VPC's IPv4 CIDR blocks as the cloud shows them now (upstream reads IMDS <c>vpc-ipv4-cidr-blocks</c> of the
/// primary MAC every 30 s): a block associated with the VPC after the node started appears here, unlike in the
/// <see cref="InstanceIdentity"/> read once at start. Implemented by the IMDS-backed provider and the simulated VPC.
/// </summary>
public interface IVpcCidrSource
{
    /// <summary>
    /// Reads the VPC's IPv4 CIDR blocks afresh (never a cached answer). Throws when the cloud cannot answer; never
    /// returns an empty list for a VPC it could read.
    /// </summary>
    ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv4CidrsAsync(CancellationToken cancellationToken);
}
