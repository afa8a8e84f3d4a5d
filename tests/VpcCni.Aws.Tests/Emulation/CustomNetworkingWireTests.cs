using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Aws.Simulation;
using VpcCni.Aws.Tests.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>Custom networking's cloud side over the real AmazonEC2Client and the loopback emulator: ENIs in a requested
/// subnet of a secondary VPC CIDR with requested groups, several candidate subnets, and configuration errors.</summary>
public sealed class CustomNetworkingWireTests
{
    private static readonly IPNetwork PodCidr = IPNetwork.Parse("100.64.0.0/16");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(EmulatedCloud Cloud, SimulatedCustomNetwork Pods)> StartAsync()
    {
        var cloud = await EmulatedCloud.StartAsync();
        return (cloud, cloud.Cluster.AddCustomNetworkingSubnets(PodCidr, 20));
    }

    private static async Task<int> EniCountAsync(AmazonEC2Client ec2) =>
        (await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest(), Ct)).NetworkInterfaces.Count;

    /// <summary>
    /// Sends <paramref name="request"/> through the real provider: it must be refused as InvalidConfiguration with no ENI
    /// left behind; returns the error for the test's own checks (the request counts start from this call).
    /// </summary>
    private static async Task<CloudException> RefusedAsync(EmulatedCloud cloud, EniCreateRequest request)
    {
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var before = await EniCountAsync(ec2);
        cloud.Vpc.Requests.ResetCounts();

        var act = async () => await provider.CreateAndAttachEniAsync(request, Ct);

        var error = (await act.Should().ThrowAsync<CloudException>()).Which;
        error.Kind.Should().Be(CloudErrorKind.InvalidConfiguration);
        (await EniCountAsync(ec2)).Should().Be(before);
        return error;
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetOfSecondaryCidrWithGroups_EniIsThereWithThoseGroups()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var subnet = pods.SubnetIn("us-west-2a");
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();

        var eni = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 3) { SubnetId = subnet.SubnetId, SecurityGroupIds = [pods.SecurityGroupId] }, Ct);

        eni.SubnetId.Should().Be(subnet.SubnetId);
        eni.SubnetCidr.Should().Be(IPNetwork.Parse("100.64.0.0/20"));
        PodCidr.Contains(eni.PrimaryIPv4).Should().BeTrue();
        eni.SecondaryIPv4.Should().HaveCount(3).And.OnlyContain(a => PodCidr.Contains(a));
        var inEc2 = (await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eni.Id] }, Ct)).NetworkInterfaces[0];
        inEc2.Groups.Select(g => g.GroupId).Should().Equal(pods.SecurityGroupId);
        inEc2.SubnetId.Should().Be(subnet.SubnetId);
        cloud.Vpc.Requests.Counts.GetValueOrDefault("DescribeSubnets").Should().Be(1, "the requested subnet is checked once before the create");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_RequestedSubnet_DescribedOnceBeforeTheCreate()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.MaxAttempts = 1);
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();
        cloud.Vpc.Requests.ForceError("CreateNetworkInterface", "Unavailable");

        var act = async () => await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = pods.SubnetIn("us-west-2a").SubnetId }, Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Kind.Should().Be(CloudErrorKind.Transient);
        cloud.Vpc.Requests.Counts.GetValueOrDefault("DescribeSubnets").Should().Be(1);
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIds_PicksTheSubnetWithMostFreeAddressesFirstOnTies()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var vpcId = cloud.Cluster.VpcInfo.VpcId;
        var small = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.16.0/26"));
        var big = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.32.0/24"));
        var bigToo = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.33.0/24"));
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);

        var eni = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [small.SubnetId, big.SubnetId, bigToo.SubnetId], SecurityGroupIds = [pods.SecurityGroupId] }, Ct);

        eni.SubnetId.Should().Be(big.SubnetId, "it has more free addresses than the /26 and comes before the other /24");
        eni.SubnetCidr.Should().Be(big.Cidr);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIdsMostFreeHasNoFreeBlock_TheOneWithFreeBlocksFirst()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var vpcId = cloud.Cluster.VpcInfo.VpcId;
        var fragmented = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.32.0/24"));
        var roomy = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("100.64.16.0/26"));
        SubnetFragmenter.Fragment(cloud.Vpc, fragmented.SubnetId);
        cloud.Vpc.DescribeSubnets([fragmented.SubnetId])[0].AvailableIpAddressCount.Should().BeGreaterThan(roomy.AvailableIpAddressCount);
        cloud.Vpc.FreePrefixCount(fragmented.SubnetId).Should().Be(0);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ResetCounts();

        var eni = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.IPv4Prefix, 1) { SubnetIds = [roomy.SubnetId, fragmented.SubnetId], SecurityGroupIds = [pods.SecurityGroupId] }, Ct);

        eni.SubnetId.Should().Be(roomy.SubnetId);
        eni.IPv4Prefixes.Should().ContainSingle().Which.PrefixLength.Should().Be(28);
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1, "for prefixes, the subnet reported without a free /28 goes last (not tried once one succeeds)");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIdsFirstRefusedAsFull_FallsThroughToTheNext()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var second = cloud.Vpc.AddSubnet(cloud.Cluster.VpcInfo.VpcId, "us-west-2a", IPNetwork.Parse("100.64.16.0/24"));
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ForceError("CreateNetworkInterface", "InsufficientFreeAddressesInSubnet");

        var eni = await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [pods.SubnetIn("us-west-2a").SubnetId, second.SubnetId] }, Ct);

        eni.SubnetId.Should().Be(second.SubnetId);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SingleSubnetFull_SubnetFullWithoutTryingOthers()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.MaxAttempts = 1);
        cloud.Vpc.Requests.ForceError("CreateNetworkInterface", "InsufficientFreeAddressesInSubnet");

        var act = async () => await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = pods.SubnetIn("us-west-2a").SubnetId }, Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Kind.Should().Be(CloudErrorKind.SubnetFull);
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CreateAndAttachEniAsync_UnknownSubnet_InvalidConfigurationNamingItAndNoEni(bool asCandidate)
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var request = asCandidate
            ? new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [pods.SubnetIn("us-west-2a").SubnetId, "subnet-0doesnotexist"] }
            : new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = "subnet-0doesnotexist" };

        var error = await RefusedAsync(cloud, request);

        error.IsRetryable.Should().BeFalse();
        error.ErrorCode.Should().Be("InvalidSubnetID.NotFound");
        error.Message.Should().Contain("subnet-0doesnotexist");
        cloud.Vpc.Requests.Counts.Should().NotContainKey("CreateNetworkInterface");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetInOtherZone_InvalidConfigurationNamingSubnetAndZonesAndNoEni()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var elsewhere = cloud.Vpc.AddSubnet(cloud.Cluster.VpcInfo.VpcId, "us-west-2b", IPNetwork.Parse("100.64.16.0/24"));

        var error = await RefusedAsync(cloud,
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [pods.SubnetIn("us-west-2a").SubnetId, elsewhere.SubnetId] });

        error.Message.Should().Contain(elsewhere.SubnetId).And.Contain("us-west-2b").And.Contain("us-west-2a");
        cloud.Vpc.Requests.Counts.Should().NotContainKey("CreateNetworkInterface");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetInOtherVpc_InvalidConfigurationNamingBothVpcsAndNoEni()
    {
        var (cloud, _) = await StartAsync();
        await using var __ = cloud;
        var otherVpc = cloud.Vpc.AddVpc(IPNetwork.Parse("10.1.0.0/16"));
        var foreign = cloud.Vpc.AddSubnet(otherVpc.VpcId, "us-west-2a", IPNetwork.Parse("10.1.0.0/24"));

        var error = await RefusedAsync(cloud, new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = foreign.SubnetId });

        error.Message.Should().Contain(foreign.SubnetId).And.Contain(otherVpc.VpcId).And.Contain(cloud.Cluster.VpcInfo.VpcId);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_UnknownSecurityGroup_InvalidConfigurationNamingItAndNoEni()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        var second = cloud.Vpc.AddSubnet(cloud.Cluster.VpcInfo.VpcId, "us-west-2a", IPNetwork.Parse("100.64.16.0/24"));

        var error = await RefusedAsync(cloud, new EniCreateRequest(AddressUnit.SecondaryIPv4, 1)
        {
            SubnetIds = [pods.SubnetIn("us-west-2a").SubnetId, second.SubnetId],
            SecurityGroupIds = [pods.SecurityGroupId, "sg-0doesnotexist"],
        });

        error.ErrorCode.Should().Be("InvalidGroup.NotFound");
        error.Message.Should().Contain("sg-0doesnotexist");
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1, "another subnet does not help against a missing group");
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_SubnetIdAndSubnetIds_ArgumentExceptionBeforeAnyCall()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var subnet = pods.SubnetIn("us-west-2a").SubnetId;
        cloud.Vpc.Requests.ResetCounts();

        var both = async () => await provider.CreateAndAttachEniAsync(
            new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = subnet, SubnetIds = [subnet] }, Ct);
        var empty = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetIds = [] }, Ct);

        await both.Should().ThrowAsync<ArgumentException>();
        await empty.Should().ThrowAsync<ArgumentException>();
        cloud.Vpc.Requests.TotalCount.Should().Be(0);
    }

    [Fact]
    public async Task Imds_SecondaryVpcCidr_ListsBothBlocksAndTheProviderSeesThem()
    {
        var (cloud, _) = await StartAsync();
        await using var __ = cloud;
        using var imds = cloud.CreateImds();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var mac = await imds.GetPrimaryMacAsync(Ct);

        (await imds.GetVpcIPv4CidrsAsync(mac, Ct)).Should().Equal(IPNetwork.Parse("10.0.0.0/16"), PodCidr);
        (await provider.GetInstanceAsync(Ct)).VpcCidrs.Should().Equal(IPNetwork.Parse("10.0.0.0/16"), PodCidr);
        (await imds.GetMetadataAsync($"network/interfaces/macs/{mac}/vpc-ipv4-cidr-block", Ct)).Should().Be("10.0.0.0/16", "the singular path stays the VPC's primary block");
    }

    [Fact]
    public async Task DescribeSubnets_IdsAndFilters_AsEc2AndUnknownIdIsNotFound()
    {
        var (cloud, pods) = await StartAsync();
        await using var _ = cloud;
        using var ec2 = cloud.CreateEc2Client();
        var podSubnet = pods.SubnetIn("us-west-2a").SubnetId;
        var vpcId = cloud.Cluster.VpcInfo.VpcId;

        var byId = await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = [podSubnet, cloud.Cluster.Subnet.SubnetId] }, Ct);
        var filtered = await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest
        {
            Filters = [new Filter("vpc-id", [vpcId]), new Filter("availability-zone", ["us-west-2a"]), new Filter("subnet-id", [podSubnet])],
        }, Ct);
        var act = async () => await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = ["subnet-0doesnotexist"] }, Ct);

        byId.Subnets.Select(s => s.SubnetId).Should().BeEquivalentTo([podSubnet, cloud.Cluster.Subnet.SubnetId]);
        filtered.Subnets.Should().ContainSingle().Which.CidrBlock.Should().Be("100.64.0.0/20");
        var error = (await act.Should().ThrowAsync<AmazonEC2Exception>()).Which;
        error.ErrorCode.Should().Be("InvalidSubnetID.NotFound");
        error.Message.Should().Be("The subnet ID 'subnet-0doesnotexist' does not exist");
    }
}
