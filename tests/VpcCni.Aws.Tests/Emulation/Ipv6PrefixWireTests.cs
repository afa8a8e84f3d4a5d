using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// IPv6 prefixes over the wire (issue #16): the real AmazonEC2Client's AssignIpv6Addresses / UnassignIpv6Addresses and
/// the Describe calls against the loopback emulator, the IMDS IPv6 paths, and the EC2 provider's
/// <see cref="IIPv6PrefixProvider"/> on them.
/// </summary>
public sealed class Ipv6PrefixWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AssignIpv6Addresses_PrefixCount_ReturnsA80InsideTheSubnet64AndDescribeShowsIt()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        var eniId = cloud.Vpc.GetInstanceView(cloud.Cluster.Nodes[0].InstanceId).NetworkInterfaces[0].NetworkInterfaceId;

        var reply = await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, Ct);

        reply.NetworkInterfaceId.Should().Be(eniId);
        reply.AssignedIpv6Prefixes.Should().ContainSingle();
        var prefix = IPNetwork.Parse(reply.AssignedIpv6Prefixes[0]);
        prefix.PrefixLength.Should().Be(80);
        var subnets = await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = [cloud.Cluster.Subnet.SubnetId] }, Ct);
        var block = subnets.Subnets[0].Ipv6CidrBlockAssociationSet.Should().ContainSingle().Subject;
        block.Ipv6CidrBlockState.State.Value.Should().Be("associated");
        var subnet64 = IPNetwork.Parse(block.Ipv6CidrBlock);
        subnet64.PrefixLength.Should().Be(64);
        subnet64.Contains(prefix.BaseAddress).Should().BeTrue();
        var enis = await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eniId] }, Ct);
        enis.NetworkInterfaces[0].Ipv6Prefixes.Select(p => p.Ipv6Prefix).Should().Equal(prefix.ToString());
        var vpcs = await ec2.DescribeVpcsAsync(new DescribeVpcsRequest(), Ct);
        var vpc56 = IPNetwork.Parse(vpcs.Vpcs.Should().ContainSingle().Subject.Ipv6CidrBlockAssociationSet.Should().ContainSingle().Subject.Ipv6CidrBlock);
        vpc56.PrefixLength.Should().Be(56);
        vpc56.Contains(subnet64.BaseAddress).Should().BeTrue();
        IPNetwork.Parse("fd00::/8").Contains(vpc56.BaseAddress).Should().BeTrue("the default pool is unique-local");
    }

    [Fact]
    public async Task UnassignIpv6Addresses_Prefix_GoneFromDescribeAndFreeForTheNextAssign()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        var eniId = cloud.Vpc.GetInstanceView(cloud.Cluster.Nodes[0].InstanceId).NetworkInterfaces[0].NetworkInterfaceId;
        var first = (await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, Ct)).AssignedIpv6Prefixes[0];

        var reply = await ec2.UnassignIpv6AddressesAsync(new UnassignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6Prefixes = [first] }, Ct);

        reply.UnassignedIpv6Prefixes.Should().Equal(first);
        (await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = [eniId] }, Ct))
            .NetworkInterfaces[0].Ipv6Prefixes.Should().BeNullOrEmpty();
        (await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, Ct))
            .AssignedIpv6Prefixes.Should().Equal(first);
    }

    [Fact]
    public async Task AssignIpv6Addresses_BadInput_RefusedWithEc2sCodes()
    {
        await using var cloud = await EmulatedCloud.StartAsync("t3.small");
        using var ec2 = cloud.CreateEc2Client();
        var eniId = cloud.Vpc.GetInstanceView(cloud.Cluster.Nodes[0].InstanceId).NetworkInterfaces[0].NetworkInterfaceId;

        async Task<string> CodeOf(Func<Task> call) => (await call.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode;

        (await CodeOf(() => ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1, Ipv6AddressCount = 1 }, Ct)))
            .Should().Be("InvalidParameterCombination");
        (await CodeOf(() => ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 0 }, Ct)))
            .Should().Be("InvalidParameterValue");
        (await CodeOf(() => ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = "eni-0000000000000dead", Ipv6PrefixCount = 1 }, Ct)))
            .Should().Be("InvalidNetworkInterfaceID.NotFound");
        (await CodeOf(() => ec2.UnassignIpv6AddressesAsync(new UnassignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6Prefixes = ["fd00:ec2::/80"] }, Ct)))
            .Should().Be("InvalidParameterValue");
        (await CodeOf(() => ec2.UnassignIpv6AddressesAsync(new UnassignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6Prefixes = ["10.0.0.0/28"] }, Ct)))
            .Should().Be("InvalidParameterValue");

        // t3.small: 4 addresses per interface, so at most 4 IPv6 prefixes.
        await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 4 }, Ct);
        (await CodeOf(() => ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, Ct)))
            .Should().Be("PrivateIpAddressLimitExceeded");
    }

    [Fact]
    public async Task AssignIpv6Addresses_XenInstance_Refused()
    {
        await using var cloud = await EmulatedCloud.StartAsync("m4.large");
        using var ec2 = cloud.CreateEc2Client();
        var eniId = cloud.Vpc.GetInstanceView(cloud.Cluster.Nodes[0].InstanceId).NetworkInterfaces[0].NetworkInterfaceId;

        var act = async () => await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eniId, Ipv6PrefixCount = 1 }, Ct);

        (await act.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode.Should().Be("InvalidParameterValue");
    }

    [Fact]
    public async Task Imds_Ipv6Paths_ServeThePrefixTheSubnetAndVpcBlocksAndTheNodeAddress()
    {
        await using var cloud = await EmulatedCloud.StartAsync(configure: o => o.AssignIpv6AddressOnCreation = true);
        using var ec2 = cloud.CreateEc2Client();
        using var imds = cloud.CreateImds();
        var eni = cloud.Vpc.GetInstanceView(cloud.Cluster.Nodes[0].InstanceId).NetworkInterfaces[0];
        var prefix = IPNetwork.Parse((await ec2.AssignIpv6AddressesAsync(new AssignIpv6AddressesRequest { NetworkInterfaceId = eni.NetworkInterfaceId, Ipv6PrefixCount = 1 }, Ct)).AssignedIpv6Prefixes[0]);
        var mac = await imds.GetPrimaryMacAsync(Ct);

        var fields = await imds.GetInterfaceFieldsAsync(mac, Ct);
        var nodeIPv6 = await imds.GetIPv6Async(Ct);

        fields.Should().Contain(["ipv6s", "ipv6-prefix", "subnet-ipv6-cidr-blocks", "vpc-ipv6-cidr-blocks"]);
        nodeIPv6.Should().NotBeNull();
        (await imds.GetIPv6sAsync(mac, Ct)).Should().Equal(nodeIPv6!);
        (await imds.GetIPv6PrefixesAsync(mac, Ct)).Should().Equal(prefix);
        var subnet64 = (await imds.GetSubnetIPv6CidrsAsync(mac, Ct)).Should().ContainSingle().Subject;
        subnet64.Contains(nodeIPv6!).Should().BeTrue();
        subnet64.Contains(prefix.BaseAddress).Should().BeTrue();
        (await imds.GetVpcIPv6CidrsAsync(mac, Ct)).Should().ContainSingle().Which.Contains(subnet64.BaseAddress).Should().BeTrue();
        (await imds.GetInterfacesAsync(Ct))[0].IPv6Prefixes.Should().Equal(prefix);
    }

    [Fact]
    public async Task Imds_NoIpv6_PathsAreNotFound()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var imds = cloud.CreateImds();
        var mac = await imds.GetPrimaryMacAsync(Ct);

        (await imds.GetIPv6Async(Ct)).Should().BeNull();
        (await imds.GetIPv6sAsync(mac, Ct)).Should().BeEmpty();
        (await imds.GetIPv6PrefixesAsync(mac, Ct)).Should().BeEmpty();
        (await imds.GetInterfaceFieldsAsync(mac, Ct)).Should().NotContain(["ipv6s", "ipv6-prefix"]);
    }

    [Fact]
    public async Task Provider_EnsureIPv6Prefix_AssignsOnceThenKeepsTheSameAndReadsVpcBlocks()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var identity = await provider.GetInstanceAsync(Ct);
        var before = cloud.Vpc.Requests.Counts.GetValueOrDefault("AssignIpv6Addresses");

        var first = await provider.EnsureIPv6PrefixAsync(identity.PrimaryEniId, Ct);
        var second = await provider.EnsureIPv6PrefixAsync(identity.PrimaryEniId, Ct);

        first.Should().ContainSingle().Which.PrefixLength.Should().Be(80);
        second.Should().Equal(first);
        cloud.Vpc.Requests.Counts.GetValueOrDefault("AssignIpv6Addresses").Should().Be(before + 1, "a prefix EC2 already shows is not asked for again");
        (await provider.GetIPv6PrefixesAsync(identity.PrimaryEniId, Ct)).Should().Equal(first);
        (await provider.DescribeInstanceEnisAsync(Ct))[0].IPv6Prefixes.Should().Equal(first);
        (await provider.GetVpcIPv6CidrsAsync(Ct)).Should().ContainSingle().Which.PrefixLength.Should().Be(56);
    }

    [Fact]
    public async Task Provider_EnsureIPv6Prefix_ExtraPrefixesLeftAlone()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var identity = await provider.GetInstanceAsync(Ct);
        var two = cloud.Vpc.AssignIpv6Addresses(identity.PrimaryEniId, 0, 2);

        var prefixes = await provider.EnsureIPv6PrefixAsync(identity.PrimaryEniId, Ct);

        prefixes.Should().Equal(two);
        cloud.Vpc.GetInstanceView(identity.InstanceId).NetworkInterfaces[0].IPv6Prefixes.Should().Equal(two);
    }
}
