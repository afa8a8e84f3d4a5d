using System.Net;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Simulation;

/// <summary>Custom networking in the simulated VPC: secondary VPC CIDRs, the cluster's pod subnets, and the simulated
/// provider answering requested subnets and groups as the EC2 provider does.</summary>
public sealed class CustomNetworkingSimulationTests
{
    private static readonly IPNetwork PodCidr = IPNetwork.Parse("100.64.0.0/16");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (SimulatedCluster Cluster, SimulatedCustomNetwork Pods, SimulatedEniProvider Provider) Create()
    {
        var cluster = SimulatedCluster.Create();
        var pods = cluster.AddCustomNetworkingSubnets(PodCidr, 20);
        return (cluster, pods, new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId));
    }

    [Fact]
    public void AddVpcCidr_SecondaryBlock_SubnetsFitInItAndOverlapsAreRefused()
    {
        var cluster = SimulatedCluster.Create();
        var vpc = cluster.Vpc;
        var vpcId = cluster.VpcInfo.VpcId;

        var outside = () => vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.0.0/24"));
        outside.Should().Throw<Exception>("100.64.0.0/24 is in no block of the VPC yet");
        var info = vpc.AddVpcCidr(vpcId, PodCidr);
        var subnet = vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.0.0/24"));
        var overlapping = () => vpc.AddVpcCidr(vpcId, IPNetwork.Parse("100.64.128.0/17"));
        var notIPv4 = () => vpc.AddVpcCidr(vpcId, IPNetwork.Parse("fd00::/64"));

        info.Cidrs.Should().Equal(IPNetwork.Parse("10.0.0.0/16"), PodCidr);
        vpc.DescribeVpc(vpcId).Cidrs.Should().Equal(IPNetwork.Parse("10.0.0.0/16"), PodCidr);
        subnet.Cidr.Should().Be(IPNetwork.Parse("100.64.0.0/24"));
        overlapping.Should().Throw<Exception>().WithMessage("*overlaps*");
        notIPv4.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void AddCustomNetworkingSubnets_TwoZones_OneUntaggedSubnetPerZoneAndAPodGroup()
    {
        var cluster = SimulatedCluster.Create(nodes: 1);
        var vpc = cluster.Vpc;
        var nodeB = vpc.LaunchInstance("m5.large", vpc.AddSubnet(cluster.VpcInfo.VpcId, "us-west-2b", IPNetwork.Parse("10.0.128.0/20")).SubnetId, [cluster.SecurityGroupId]);
        var twoZones = cluster with { Nodes = [.. cluster.Nodes, nodeB] };

        var pods = twoZones.AddCustomNetworkingSubnets(PodCidr, 20);

        pods.Subnets.Select(s => (s.AvailabilityZone, s.Cidr)).Should().Equal(
            ("us-west-2a", IPNetwork.Parse("100.64.0.0/20")), ("us-west-2b", IPNetwork.Parse("100.64.16.0/20")));
        pods.Subnets.Should().OnlyContain(s => s.Tags.Count == 0, "tagged subnets would draw ENIs that no ENIConfig sends there");
        pods.SubnetIn("us-west-2b").VpcId.Should().Be(cluster.VpcInfo.VpcId);
        pods.SecurityGroupId.Should().StartWith("sg-").And.NotBe(cluster.SecurityGroupId);
        vpc.DescribeVpc(cluster.VpcInfo.VpcId).Cidrs.Should().Contain(PodCidr);
    }

    [Fact]
    public void AttachNetworkInterface_EniInOtherZone_RefusedAndLeftUnattached()
    {
        var (cluster, _, _) = Create();
        var vpc = cluster.Vpc;
        var elsewhere = vpc.AddSubnet(cluster.VpcInfo.VpcId, "us-west-2b", IPNetwork.Parse("100.64.16.0/24"));
        var eni = vpc.CreateNetworkInterface(elsewhere.SubnetId, "d", [cluster.SecurityGroupId], 0, 0, null);

        var act = () => vpc.AttachNetworkInterface(eni.NetworkInterfaceId, cluster.Nodes[0].InstanceId, 1);

        act.Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidParameterCombination");
        vpc.DescribeNetworkInterfaces([eni.NetworkInterfaceId]).Items[0].Attachment.Should().BeNull();
    }

    [Fact]
    public void CreateNetworkInterface_UnknownGroupOrSubnet_Ec2CodesAndNothingCreated()
    {
        var (cluster, pods, _) = Create();
        var vpc = cluster.Vpc;
        var before = vpc.NetworkInterfaces.Count;
        var subnet = pods.SubnetIn("us-west-2a").SubnetId;

        var badGroup = () => vpc.CreateNetworkInterface(subnet, "d", [pods.SecurityGroupId, "sg-0nope"], 1, 0, null);
        var badSubnet = () => vpc.CreateNetworkInterface("subnet-0nope", "d", [pods.SecurityGroupId], 1, 0, null);

        badGroup.Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidGroup.NotFound");
        badSubnet.Should().Throw<SimulatedEc2Exception>().Which.Code.Should().Be("InvalidSubnetID.NotFound");
        vpc.NetworkInterfaces.Should().HaveCount(before);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetOfSecondaryCidrWithGroups_EniIsThereWithThoseGroups()
    {
        var (cluster, pods, provider) = Create();
        var subnet = pods.SubnetIn("us-west-2a");
        cluster.Vpc.Requests.ResetCounts();

        var eni = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 2) { SubnetId = subnet.SubnetId, SecurityGroupIds = [pods.SecurityGroupId] }, Ct);

        eni.SubnetId.Should().Be(subnet.SubnetId);
        eni.SubnetCidr.Should().Be(subnet.Cidr);
        PodCidr.Contains(eni.PrimaryIPv4).Should().BeTrue();
        eni.SecondaryIPv4.Should().HaveCount(2).And.OnlyContain(a => PodCidr.Contains(a));
        cluster.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0].SecurityGroupIds.Should().Equal(pods.SecurityGroupId);
        cluster.Vpc.Requests.Counts.GetValueOrDefault("DescribeSubnets").Should().Be(1);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIds_MostFreeFirstForAddressesMostFreeBlocksFirstForPrefixes()
    {
        var (cluster, pods, provider) = Create();
        var vpcId = cluster.VpcInfo.VpcId;
        var small = cluster.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.16.0/26"));
        var big = cluster.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.32.0/24"));

        var first = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [small.SubnetId, big.SubnetId], SecurityGroupIds = [pods.SecurityGroupId] }, Ct);
        SubnetFragmenter.Fragment(cluster.Vpc, big.SubnetId);
        cluster.Vpc.Requests.ResetCounts();
        var second = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.IPv4Prefix, 1) { SubnetIds = [small.SubnetId, big.SubnetId], SecurityGroupIds = [pods.SecurityGroupId] }, Ct);

        first.SubnetId.Should().Be(big.SubnetId);
        second.SubnetId.Should().Be(small.SubnetId, "the roomier subnet has no free /28 left");
        cluster.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1, "for prefixes the subnet with free /28 blocks is tried first");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_UnknownSubnet_InvalidConfigurationAndNoEni()
    {
        var (cluster, pods, provider) = Create();
        var before = cluster.Vpc.NetworkInterfaces.Count;

        var act = async () => await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [pods.SubnetIn("us-west-2a").SubnetId, "subnet-0nope"] }, Ct);

        var error = (await act.Should().ThrowAsync<CloudException>()).Which;
        error.Kind.Should().Be(CloudErrorKind.InvalidConfiguration);
        error.Message.Should().Contain("subnet-0nope");
        cluster.Vpc.NetworkInterfaces.Should().HaveCount(before);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetInOtherZone_InvalidConfigurationAndNoEni()
    {
        var (cluster, _, provider) = Create();
        var elsewhere = cluster.Vpc.AddSubnet(cluster.VpcInfo.VpcId, "us-west-2b", IPNetwork.Parse("100.64.16.0/24"));
        var before = cluster.Vpc.NetworkInterfaces.Count;

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = elsewhere.SubnetId }, Ct);

        var error = (await act.Should().ThrowAsync<CloudException>()).Which;
        error.Kind.Should().Be(CloudErrorKind.InvalidConfiguration);
        error.Message.Should().Contain(elsewhere.SubnetId).And.Contain("us-west-2b").And.Contain("us-west-2a");
        cluster.Vpc.NetworkInterfaces.Should().HaveCount(before);
        cluster.Vpc.Requests.Counts.Should().NotContainKey("CreateNetworkInterface");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_UnknownSecurityGroup_InvalidConfigurationAndNoEni()
    {
        var (cluster, pods, provider) = Create();
        var before = cluster.Vpc.NetworkInterfaces.Count;

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1)
        {
            SubnetId = pods.SubnetIn("us-west-2a").SubnetId,
            SecurityGroupIds = ["sg-0nope"],
        }, Ct);

        var error = (await act.Should().ThrowAsync<CloudException>()).Which;
        error.Kind.Should().Be(CloudErrorKind.InvalidConfiguration);
        error.Message.Should().Contain("sg-0nope");
        cluster.Vpc.NetworkInterfaces.Should().HaveCount(before);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIdAndSubnetIds_ArgumentException()
    {
        var (_, pods, provider) = Create();
        var subnet = pods.SubnetIn("us-west-2a").SubnetId;

        var act = async () => await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = subnet, SubnetIds = [subnet] }, Ct);

        await act.Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task GetInstanceAsync_SecondaryVpcCidr_ListsBothBlocks()
    {
        var (_, _, provider) = Create();

        (await provider.GetInstanceAsync(Ct)).VpcCidrs.Should().Equal(IPNetwork.Parse("10.0.0.0/16"), PodCidr);
    }
}
