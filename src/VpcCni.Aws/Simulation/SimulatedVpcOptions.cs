using System.Net;

namespace VpcCni.Aws.Simulation;

/// <summary>Timing, limits and faults of a simulated VPC.</summary>
public sealed class SimulatedVpcOptions
{
    /// <summary>Region the simulation pretends to be.</summary>
    public string Region { get; set; } = "us-west-2";

    /// <summary>How long an attachment stays "attaching".</summary>
    public TimeSpan AttachDelay { get; set; }

    /// <summary>How long an attachment stays "detaching" (the ENI cannot be deleted meanwhile).</summary>
    public TimeSpan DetachDelay { get; set; }

    /// <summary>
    /// How far IMDS lags behind EC2 (ENIs and addresses appear and vanish this much later). May be changed while the
    /// simulation runs (<c>vpc.Options.ImdsLag = …</c>): each attachment and address change is shown (or hidden) with the
    /// lag current when EC2 made it, so a new lag applies to later changes and what IMDS already shows stays.
    /// </summary>
    public TimeSpan ImdsLag { get; set; }

    /// <summary>Whether the account-wide request token buckets are enforced (RequestLimitExceeded).</summary>
    public bool EnforceRequestLimits { get; set; } = true;

    /// <summary>Scales every bucket's capacity and refill (1 = EC2's defaults).</summary>
    public double RequestLimitScale { get; set; } = 1;

    /// <summary>Seed of the random choices (address picking, fault injection): same seed, same run.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>
    /// Where the VPCs' IPv6 blocks come from: the n-th VPC takes the n-th /56 of it, and its subnets the /64s of that in
    /// order of creation (unique-local by default, so nothing simulated looks routable; EC2 hands out global blocks).
    /// </summary>
    public IPNetwork Ipv6Pool { get; set; } = IPNetwork.Parse("fd00:ec2::/32");

    /// <summary>EC2's subnet attribute AssignIpv6AddressOnCreation for every subnet: a new ENI (the instances' primary ENIs
    /// too) gets one IPv6 address of its subnet's /64 (IMDS <c>ipv6</c>, <c>ipv6s</c>).</summary>
    public bool AssignIpv6AddressOnCreation { get; set; }

    /// <summary>Address limit of an ENI that is not attached (EC2 checks the instance type's limit on attach).</summary>
    public int UnattachedEniAddressLimit { get; set; } = 50;
}
