using System.Net;
using Amazon.EC2.Model;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>/28 fragmentation over the real AmazonEC2Client and the loopback emulator: InsufficientCidrBlocks on the
/// wire, the emulator's free-/28 extension tag, and the provider's fragmentation-aware choice among candidate subnets.</summary>
public sealed class FragmentationWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AssignAsync_FragmentedSubnet_PrefixRefusedAsNoFreePrefixWhileAddressesStillWork()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var self = await provider.GetInstanceAsync(Ct);
        using var fragmentation = cloud.Vpc.FragmentSubnet(self.SubnetId);

        var refused = async () => await provider.AssignAsync(self.PrimaryEniId, AddressUnit.IPv4Prefix, 1, Ct);
        var addresses = await provider.AssignAsync(self.PrimaryEniId, AddressUnit.SecondaryIPv4, 2, Ct);

        var error = (await refused.Should().ThrowAsync<CloudException>()).Which;
        error.Kind.Should().Be(CloudErrorKind.NoFreePrefix);
        error.ErrorCode.Should().Be("InsufficientCidrBlocks");
        addresses.Should().HaveCount(2);

        fragmentation.Defragment();
        (await provider.AssignAsync(self.PrimaryEniId, AddressUnit.IPv4Prefix, 1, Ct)).Should().ContainSingle().Which.PrefixLength.Should().Be(28);
    }

    [Fact]
    public async Task DescribeSubnets_Emulator_ReportsFreeBlocksInItsExtensionTag()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        var subnetId = cloud.Cluster.Subnet.SubnetId;
        var before = cloud.Vpc.FreePrefixCount(subnetId);
        using var fragmentation = cloud.Vpc.FragmentSubnet(subnetId);

        var subnet = (await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = [subnetId] }, Ct)).Subnets[0];

        before.Should().BeGreaterThan(0);
        subnet.Tags.Should().ContainSingle(t => t.Key == FragmentedSubnets.EmulatorFreeBlocksTag).Which.Value.Should().Be("0");
        subnet.AvailableIpAddressCount.Should().BeGreaterThan(0, "the subnet still looks roomy");
        fragmentation.Addresses.Should().HaveCount(before);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_PrefixesWithSeveralSubnets_PrefersTheSubnetWithFreeBlocksOverTheRoomiestOne()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        var vpcId = cloud.Cluster.VpcInfo.VpcId;
        var roomy = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("10.0.64.0/20"));
        var small = cloud.Vpc.AddSubnet(vpcId, "us-west-2a", IPNetwork.Parse("10.0.80.0/26"));
        using var fragmentation = cloud.Vpc.FragmentSubnet(roomy.SubnetId);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.IPv4Prefix, 1) { SubnetIds = [roomy.SubnetId, small.SubnetId] }, Ct);

        eni.SubnetId.Should().Be(small.SubnetId, "the roomy subnet has thousands of addresses but no free /28");
        eni.IPv4Prefixes.Should().ContainSingle();
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(1, "no refused create in the fragmented subnet first");
        ((ISubnetPrefixCapacitySource)provider).GetSubnetPrefixCapacity().Should().Contain(new SubnetPrefixCapacity(roomy.SubnetId, 0, false));
    }
}
