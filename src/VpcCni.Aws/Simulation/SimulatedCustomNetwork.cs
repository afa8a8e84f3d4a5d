using System.Net;

namespace VpcCni.Aws.Simulation;

/// <summary>
/// What custom networking (an ENIConfig per zone) points new ENIs at: a secondary CIDR block of the cluster's VPC, one
/// pod subnet in it per zone of the cluster's nodes, and a security group for pods.
/// </summary>
public sealed record SimulatedCustomNetwork(IPNetwork Cidr, IReadOnlyList<SimulatedSubnet> Subnets, string SecurityGroupId)
{
    /// <summary>The pod subnet of <paramref name="availabilityZone"/>.</summary>
    public SimulatedSubnet SubnetIn(string availabilityZone) =>
        Subnets.FirstOrDefault(s => s.AvailabilityZone == availabilityZone)
            ?? throw new ArgumentException($"no custom-networking subnet in {availabilityZone}", nameof(availabilityZone));
}
