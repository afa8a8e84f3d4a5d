using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Simulation;

/// <summary>The simulated VPC's IPv6 model: a /56 per VPC, a /64 per subnet, /80 prefixes carved for ENIs.</summary>
public sealed class SimulatedVpcIpv6Tests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SimulatedCluster Create(string type = "m5.large", Action<SimulatedVpcOptions>? configure = null)
    {
        var options = new SimulatedVpcOptions();
        configure?.Invoke(options);
        return SimulatedCluster.Create(type, 1, 20, options, new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void AddVpcAndSubnets_Default_UniqueLocal56AndConsecutive64s()
    {
        var vpc = new SimulatedVpc();
        var first = vpc.AddVpc(IPNetwork.Parse("10.0.0.0/16"));
        var second = vpc.AddVpc(IPNetwork.Parse("10.1.0.0/16"));
        var a = vpc.AddSubnet(first.VpcId, "us-west-2a", IPNetwork.Parse("10.0.0.0/20"));
        var b = vpc.AddSubnet(first.VpcId, "us-west-2a", IPNetwork.Parse("10.0.16.0/20"));

        first.Ipv6Cidrs.Should().Equal(IPNetwork.Parse("fd00:ec2::/56"));
        second.Ipv6Cidrs.Should().Equal(IPNetwork.Parse("fd00:ec2:0:100::/56"));
        a.Ipv6Cidr.Should().Be(IPNetwork.Parse("fd00:ec2::/64"));
        b.Ipv6Cidr.Should().Be(IPNetwork.Parse("fd00:ec2:0:1::/64"));
        vpc.DescribeVpc(first.VpcId).Ipv6Cidrs.Should().Equal(first.Ipv6Cidrs);
    }

    [Fact]
    public void AddVpc_ConfiguredPool_TakesItsBlocks()
    {
        var vpc = new SimulatedVpc(new SimulatedVpcOptions { Ipv6Pool = IPNetwork.Parse("2600:1f14:abc::/48") });

        vpc.AddVpc(IPNetwork.Parse("10.0.0.0/16")).Ipv6Cidrs.Should().Equal(IPNetwork.Parse("2600:1f14:abc::/56"));
    }

    [Fact]
    public void AssignIpv6Addresses_Prefixes_Distinct80sOfTheSubnetAndFreedOnUnassign()
    {
        var cluster = Create();
        var eniId = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;

        var assigned = cluster.Vpc.AssignIpv6Addresses(eniId, 0, 3);

        assigned.Should().HaveCount(3).And.OnlyHaveUniqueItems().And.OnlyContain(p => p.PrefixLength == 80 && cluster.Subnet.Ipv6Cidr!.Value.Contains(p.BaseAddress));
        cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces[0].IPv6Prefixes.Should().Equal(assigned);
        cluster.Vpc.UnassignIpv6Addresses(eniId, [assigned[1]]);
        cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces[0].IPv6Prefixes.Should().Equal(assigned[0], assigned[2]);
        cluster.Vpc.AssignIpv6Addresses(eniId, 0, 1).Should().Equal(assigned[1]);
    }

    [Fact]
    public void AssignIpv6Addresses_OverTheInterfaceLimitOrBadCounts_Ec2Errors()
    {
        var cluster = Create("t3.small");
        var eniId = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;

        cluster.Vpc.AssignIpv6Addresses(eniId, 0, 4);

        ((Action)(() => cluster.Vpc.AssignIpv6Addresses(eniId, 0, 1))).Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("PrivateIpAddressLimitExceeded");
        ((Action)(() => cluster.Vpc.AssignIpv6Addresses(eniId, 1, 1))).Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidParameterCombination");
        ((Action)(() => cluster.Vpc.AssignIpv6Addresses(eniId, 0, -1))).Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidParameterValue");
        ((Action)(() => cluster.Vpc.UnassignIpv6Addresses(eniId, []))).Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("MissingParameter");
    }

    [Fact]
    public void AssignIpv6Addresses_PoolTooSmallForA56_SubnetHasNoIpv6AndAssignIsRefused()
    {
        var cluster = Create(configure: o => o.Ipv6Pool = IPNetwork.Parse("fd00::/60"));
        var eniId = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;

        cluster.Subnet.Ipv6Cidr.Should().BeNull();
        ((Action)(() => cluster.Vpc.AssignIpv6Addresses(eniId, 0, 1))).Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidParameterValue");
    }

    [Fact]
    public void DeleteNetworkInterface_WithPrefix_PrefixReturnsToTheSubnet()
    {
        var cluster = Create();
        var vpc = cluster.Vpc;
        var eni = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", [cluster.SecurityGroupId], 0, 0, new Dictionary<string, string>(), null);
        var prefix = vpc.AssignIpv6Addresses(eni.NetworkInterfaceId, 0, 1)[0];

        vpc.DeleteNetworkInterface(eni.NetworkInterfaceId);

        vpc.AssignIpv6Addresses(cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId, 0, 1).Should().Equal(prefix);
    }

    [Fact]
    public async Task Provider_EnsureIPv6Prefix_AssignsWhenNoneThenReusesAndDescribesIt()
    {
        var cluster = Create(configure: o => o.AssignIpv6AddressOnCreation = true);
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var identity = await provider.GetInstanceAsync(Ct);

        var first = await provider.EnsureIPv6PrefixAsync(identity.PrimaryEniId, Ct);
        var again = await provider.EnsureIPv6PrefixAsync(identity.PrimaryEniId, Ct);
        var enis = await provider.DescribeInstanceEnisAsync(Ct);

        first.Should().ContainSingle();
        again.Should().Equal(first);
        cluster.Vpc.Requests.Counts.GetValueOrDefault("AssignIpv6Addresses").Should().Be(1);
        enis[0].IPv6Prefixes.Should().Equal(first);
        enis[0].IPv6Addresses.Should().ContainSingle().Which.Should().Match<IPAddress>(a => cluster.Subnet.Ipv6Cidr!.Value.Contains(a));
        (await provider.GetVpcIPv6CidrsAsync(Ct)).Should().Equal(cluster.VpcInfo.Ipv6Cidrs);
    }
}
