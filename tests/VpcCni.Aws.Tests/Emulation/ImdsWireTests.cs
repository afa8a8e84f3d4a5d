using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Imds;

namespace VpcCni.Aws.Tests.Emulation;

public class ImdsWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ImdsClient_ReadsEveryPathFromEmulator()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var imds = cloud.CreateImds();
        var node = cloud.Cluster.Nodes[0];
        var primary = node.NetworkInterfaces[0];

        var mac = await imds.GetPrimaryMacAsync(Ct);
        (await imds.GetInstanceIdAsync(Ct)).Should().Be(node.InstanceId);
        (await imds.GetInstanceTypeAsync(Ct)).Should().Be("m5.large");
        (await imds.GetAvailabilityZoneAsync(Ct)).Should().Be("us-west-2a");
        (await imds.GetRegionAsync(Ct)).Should().Be("us-west-2");
        (await imds.GetLocalIPv4Async(Ct)).Should().Be(node.PrivateIPv4);
        (await imds.GetIPv6Async(Ct)).Should().BeNull("404 means no IPv6");
        (await imds.GetMacsAsync(Ct)).Should().Equal(mac);
        (await imds.GetInterfaceIdAsync(mac, Ct)).Should().Be(primary.NetworkInterfaceId);
        (await imds.GetDeviceNumberAsync(mac, Ct)).Should().Be(0);
        (await imds.GetNetworkCardAsync(mac, Ct)).Should().Be(0);
        (await imds.GetSubnetIdAsync(mac, Ct)).Should().Be(cloud.Cluster.Subnet.SubnetId);
        (await imds.GetSubnetIPv4CidrAsync(mac, Ct)).Should().Be(cloud.Cluster.Subnet.Cidr);
        (await imds.GetVpcIdAsync(mac, Ct)).Should().Be(cloud.Cluster.VpcInfo.VpcId);
        (await imds.GetVpcIPv4CidrsAsync(mac, Ct)).Should().Equal(IPNetwork.Parse("10.0.0.0/16"));
        (await imds.GetSecurityGroupIdsAsync(mac, Ct)).Should().Equal(cloud.Cluster.SecurityGroupId);
        (await imds.GetLocalIPv4sAsync(mac, Ct)).Should().Equal(node.PrivateIPv4);
        (await imds.GetIPv4PrefixesAsync(mac, Ct)).Should().BeEmpty("404 means no prefixes");
        (await imds.GetIPv6sAsync(mac, Ct)).Should().BeEmpty();
        // The simulated VPC is dual-stack (issue #16): every subnet has a /64, but no ENI an IPv6 address unless asked.
        (await imds.GetSubnetIPv6CidrsAsync(mac, Ct)).Should().Equal(cloud.Cluster.Subnet.Ipv6Cidr!.Value);
        (await imds.GetVpcIPv6CidrsAsync(mac, Ct)).Should().Equal(cloud.Cluster.VpcInfo.Ipv6Cidrs);
        (await imds.GetIPv6PrefixesAsync(mac, Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task ImdsClient_NewEni_AppearsOnlyAfterImdsLag()
    {
        // The lag runs on a fake clock: how busy the machine is cannot decide the outcome.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cloud = await EmulatedCloud.StartAsync(configure: o => o.ImdsLag = TimeSpan.FromMilliseconds(400), time: time);
        using var imds = cloud.CreateImds();
        var node = cloud.Cluster.Nodes[0];
        var eni = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "x", [cloud.Cluster.SecurityGroupId], 0, 1, null);
        cloud.Vpc.AttachNetworkInterface(eni.NetworkInterfaceId, node.InstanceId, 1);

        (await imds.GetInterfacesAsync(Ct)).Should().ContainSingle("IMDS lags behind EC2");
        time.Advance(TimeSpan.FromMilliseconds(399));
        (await imds.GetInterfacesAsync(Ct)).Should().ContainSingle("the lag has not run out");
        time.Advance(TimeSpan.FromMilliseconds(1));
        var seen = await imds.GetInterfacesAsync(Ct);

        seen.Should().HaveCount(2);
        var added = seen.Single(s => s.InterfaceId == eni.NetworkInterfaceId);
        added.DeviceNumber.Should().Be(1);
        added.IPv4Prefixes.Should().Equal(eni.IPv4Prefixes);
        added.LocalIPv4s.Should().Equal(eni.PrimaryIPv4);
    }

    [Fact]
    public async Task Emulator_ImdsWithoutToken_401AndTwoNodesAnsweredByPrefix()
    {
        await using var cloud = await EmulatedCloud.StartAsync(nodes: 2);
        using var imds1 = cloud.CreateImds(1);

        using var bare = await cloud.Http.GetAsync(new Uri(cloud.Endpoint, "node/0/latest/meta-data/instance-id"), Ct);
        using var ambiguous = await cloud.Http.GetAsync(new Uri(cloud.Endpoint, "latest/meta-data/instance-id"), Ct);

        bare.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        ambiguous.StatusCode.Should().Be(HttpStatusCode.NotFound, "with two nodes loopback requests must name the node");
        (await imds1.GetInstanceIdAsync(Ct)).Should().Be(cloud.Cluster.Nodes[1].InstanceId);
    }
}
