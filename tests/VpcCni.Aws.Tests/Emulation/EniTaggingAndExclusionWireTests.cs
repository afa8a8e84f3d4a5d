using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>Upstream's TagENI (reference §2.19) and IsSubnetExcluded (§2.14) through the real SDK client.</summary>
public sealed class EniTaggingAndExclusionWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnsureEniTagsAsync_UntaggedEni_AddsOnlyMissingOrDifferentTags()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o =>
        {
            o.ClusterName = "demo";
            o.AdditionalEniTags = new Dictionary<string, string> { ["team"] = "net" };
        });
        var node = cloud.Cluster.Nodes[0];
        var primary = (await provider.DescribeInstanceEnisAsync(Ct))[0];
        cloud.Vpc.CreateTags([primary.Id], new Dictionary<string, string> { ["team"] = "old", [EniTags.ClusterName] = "demo", ["keep"] = "me" });
        primary = (await provider.DescribeInstanceEnisAsync(Ct))[0];
        cloud.Vpc.Requests.ResetCounts();

        await provider.EnsureEniTagsAsync(primary, Ct);

        cloud.Vpc.Requests.Counts.Should().BeEquivalentTo(new Dictionary<string, long> { ["CreateTags"] = 1 });
        cloud.Vpc.DescribeNetworkInterfaces([primary.Id]).Items[0].Tags.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [EniTags.InstanceId] = node.InstanceId,
            [EniTags.ClusterName] = "demo",
            [EniTags.Owner] = EniTags.OwnerValue,
            ["team"] = "net",
            ["keep"] = "me",
        });
    }

    [Fact]
    public async Task EnsureEniTagsAsync_NothingMissingOrTrunk_NoCall()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.ClusterName = "demo");
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);
        var primary = (await provider.DescribeInstanceEnisAsync(Ct))[0];
        cloud.Vpc.Requests.ResetCounts();

        await provider.EnsureEniTagsAsync(eni, Ct);
        await provider.EnsureEniTagsAsync(primary with { Kind = EniKind.Trunk }, Ct);

        cloud.Vpc.Requests.TotalCount.Should().Be(0);
    }

    [Theory]
    [InlineData("0", null, null, true)]
    [InlineData(null, null, null, false)]
    [InlineData("1", null, null, false)]
    [InlineData("1", "other", "demo", true)]
    [InlineData("1", "demo", "demo", false)]
    [InlineData("1", "other", null, false)]
    public async Task DescribeInstanceEnisAsync_SubnetTags_MarkExcludedEnis(string? role, string? taggedCluster, string? clusterName, bool excluded)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        var vpc = cloud.Vpc;
        var tags = new Dictionary<string, string>();
        if (role is not null)
        {
            tags[EniTags.SubnetRole] = role;
        }

        if (taggedCluster is not null)
        {
            tags[EniTags.SubnetClusterPrefix + taggedCluster] = "shared";
        }

        var other = vpc.AddSubnet(cloud.Cluster.VpcInfo.VpcId, "us-west-2a", IPNetwork.Parse("10.0.64.0/24"), tags);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.ClusterName = clusterName);
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = other.SubnetId }, Ct);
        vpc.Requests.ResetCounts();

        var enis = await provider.DescribeInstanceEnisAsync(Ct);
        await provider.DescribeInstanceEnisAsync(Ct);

        enis.Single(e => e.Id == eni.Id).IsExcludedForPodIPs.Should().Be(excluded);
        enis.Single(e => e.IsPrimary).IsExcludedForPodIPs.Should().BeFalse("the node subnet is tagged kubernetes.io/role/cni=1");
        vpc.Requests.Counts.GetValueOrDefault("DescribeSubnets").Should().BeLessThanOrEqualTo(1, "subnet tags are read once, not per ENI or per describe");
    }

    [Fact]
    public async Task DescribeInstanceEnisAsync_DiscoveryOff_NothingExcludedAndNoDescribeSubnets()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.SubnetDiscovery = false);
        cloud.Vpc.CreateTags([cloud.Cluster.Subnet.SubnetId], new Dictionary<string, string> { [EniTags.SubnetRole] = "0" });
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();

        var enis = await provider.DescribeInstanceEnisAsync(Ct);

        enis.Should().OnlyContain(e => !e.IsExcludedForPodIPs);
        cloud.Vpc.Requests.Counts.Should().NotContainKey("DescribeSubnets");
    }

    [Fact]
    public async Task DescribeInstanceEnisAsync_SubnetRetaggedAfterCacheTtl_SeenOnNextDescribe()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.SubnetTagCacheTtl = TimeSpan.FromMilliseconds(1));
        (await provider.DescribeInstanceEnisAsync(Ct)).Should().OnlyContain(e => !e.IsExcludedForPodIPs);

        cloud.Vpc.CreateTags([cloud.Cluster.Subnet.SubnetId], new Dictionary<string, string> { [EniTags.SubnetRole] = "0" });
        await Task.Delay(20, Ct);

        (await provider.DescribeInstanceEnisAsync(Ct)).Should().OnlyContain(e => e.IsExcludedForPodIPs);
    }
}
