using System.Net;

namespace VpcCni.Aws.Simulation;

/// <summary>A ready-made VPC: one VPC 10.0.0.0/16, a node subnet in one AZ, a security group and N nodes.</summary>
public sealed record SimulatedCluster(
    SimulatedVpc Vpc,
    SimulatedVpcInfo VpcInfo,
    SimulatedSubnet Subnet,
    string SecurityGroupId,
    IReadOnlyList<SimulatedInstance> Nodes)
{
    /// <summary>Builds the VPC and launches <paramref name="nodes"/> instances of <paramref name="instanceType"/>.</summary>
    /// <param name="subnetPrefixLength">Prefix length of the node subnet (16–28); smaller subnets run out sooner.</param>
    public static SimulatedCluster Create(
        string instanceType = "m5.large",
        int nodes = 1,
        int subnetPrefixLength = 20,
        SimulatedVpcOptions? options = null,
        TimeProvider? timeProvider = null,
        string availabilityZone = "us-west-2a")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subnetPrefixLength, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subnetPrefixLength, 28);
        var vpc = new SimulatedVpc(options, timeProvider);
        var info = vpc.AddVpc(IPNetwork.Parse("10.0.0.0/16"));
        var subnet = vpc.AddSubnet(info.VpcId, availabilityZone, new IPNetwork(IPAddress.Parse("10.0.0.0"), subnetPrefixLength),
            new Dictionary<string, string> { [EniTags.SubnetRole] = "1" });
        var sg = vpc.AddSecurityGroup(info.VpcId, "nodes");
        var launched = Enumerable.Range(0, nodes).Select(_ => vpc.LaunchInstance(instanceType, subnet.SubnetId, [sg])).ToList();
        return new SimulatedCluster(vpc, info, vpc.DescribeSubnets([subnet.SubnetId])[0], sg, launched);
    }

    /// <summary>
    /// Custom networking's cloud side: associates <paramref name="cidr"/> (e.g. 100.64.0.0/16) with the VPC, carves one
    /// subnet of <paramref name="subnetPrefixLength"/> per zone of <see cref="Nodes"/> from its start, and adds a
    /// security group for pods. <see cref="VpcInfo"/> keeps the CIDRs it was created with; <c>Vpc.DescribeVpc</c> shows all.
    /// </summary>
    public SimulatedCustomNetwork AddCustomNetworkingSubnets(IPNetwork cidr, int subnetPrefixLength = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(subnetPrefixLength, cidr.PrefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subnetPrefixLength, 28);
        var zones = Nodes.Select(n => n.AvailabilityZone).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var size = 1UL << (32 - subnetPrefixLength);
        if ((ulong)zones.Count * size > 1UL << (32 - cidr.PrefixLength))
        {
            throw new ArgumentException($"{cidr} cannot hold {zones.Count} subnets of /{subnetPrefixLength}", nameof(subnetPrefixLength));
        }

        Vpc.AddVpcCidr(VpcInfo.VpcId, cidr);
        var start = SimulatedVpc.ToUInt(cidr.BaseAddress);

        // Untagged on purpose: with subnet discovery, a kubernetes.io/role/cni tag would make these subnets candidates for
        // ENIs that no ENIConfig sends there.
        var subnets = zones
            .Select((zone, i) => Vpc.AddSubnet(VpcInfo.VpcId, zone, new IPNetwork(SimulatedVpc.FromUInt(start + (uint)((ulong)i * size)), subnetPrefixLength)))
            .ToList();
        var podGroup = Vpc.AddSecurityGroup(VpcInfo.VpcId, "pods");
        return new SimulatedCustomNetwork(cidr, subnets, podGroup);
    }
}
