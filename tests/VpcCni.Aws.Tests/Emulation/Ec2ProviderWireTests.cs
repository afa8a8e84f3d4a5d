using System.Net;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

public class Ec2ProviderWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Provider_FullEniLifecycle_OverRealSdk()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.ClusterName = "demo");
        var node = cloud.Cluster.Nodes[0];

        var self = await provider.GetInstanceAsync(Ct);
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 4), Ct);
        var more = await provider.AssignAsync(eni.Id, AddressUnit.SecondaryIPv4, 3, Ct);
        var all = await provider.DescribeInstanceEnisAsync(Ct);

        self.InstanceId.Should().Be(node.InstanceId);
        self.PrimaryIPv4.Should().Be(node.PrivateIPv4);
        self.VpcId.Should().Be(cloud.Cluster.VpcInfo.VpcId);
        self.SubnetCidr.Should().Be(cloud.Cluster.Subnet.Cidr);
        eni.DeviceIndex.Should().Be(1);
        eni.AttachmentId.Should().StartWith("eni-attach-");
        eni.SecondaryIPv4.Should().HaveCount(4);
        eni.Tags.Should().ContainKeys(EniTags.InstanceId, EniTags.CreatedAt, EniTags.ClusterName, EniTags.Owner);
        more.Should().HaveCount(3).And.OnlyContain(c => c.PrefixLength == 32);
        all.Should().HaveCount(2);
        all[1].SecondaryIPv4.Should().HaveCount(7);
        all[1].SubnetCidr.Should().Be(cloud.Cluster.Subnet.Cidr);
        var inEc2 = cloud.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0];
        inEc2.Description.Should().Be("aws-K8S-" + node.InstanceId);
        inEc2.Attachment!.DeleteOnTermination.Should().BeTrue();

        await provider.UnassignAsync(eni.Id, more, Ct);
        cloud.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0].SecondaryIPv4.Should().HaveCount(4);
        await provider.DetachAndDeleteEniAsync(eni.Id, Ct);
        await provider.DetachAndDeleteEniAsync(eni.Id, Ct);

        cloud.Vpc.NetworkInterfaces.Should().ContainSingle();
    }

    [Fact]
    public async Task ReadAttachedEnisAsync_ImdsOfTheEmulator_SameEnisAndAddressesAsEc2WithoutAnEc2Request()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 4), Ct);
        await provider.AssignAsync(eni.Id, AddressUnit.SecondaryIPv4, 2, Ct);
        var fromEc2 = await provider.DescribeInstanceEnisAsync(Ct);
        var calls = provider.Ec2Calls;

        var fromImds = await provider.ReadAttachedEnisAsync(Ct);

        provider.Ec2Calls.Should().Be(calls, "instance metadata is not an EC2 request");
        fromImds.Should().NotBeNull();
        fromImds!.Select(e => (e.Id, e.DeviceIndex, e.NetworkCardIndex, e.PrimaryIPv4))
            .Should().BeEquivalentTo(fromEc2.Select(e => (e.Id, e.DeviceIndex, e.NetworkCardIndex, e.PrimaryIPv4)));
        foreach (var e in fromEc2)
        {
            fromImds.Single(i => i.Id == e.Id).SecondaryIPv4.Should().BeEquivalentTo(e.SecondaryIPv4, "the ENI {0}'s secondary addresses", e.Id);
        }
    }

    [Fact]
    public async Task Provider_PrefixDelegation_AssignsAndReturnsPrefixes()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.IPv4Prefix, 1), Ct);
        var prefixes = await provider.AssignAsync(eni.Id, AddressUnit.IPv4Prefix, 2, Ct);
        await provider.UnassignAsync(eni.Id, prefixes, Ct);

        eni.IPv4Prefixes.Should().ContainSingle().Which.PrefixLength.Should().Be(28);
        prefixes.Should().HaveCount(2).And.OnlyContain(p => p.PrefixLength == 28);
        cloud.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0].IPv4Prefixes.Should().ContainSingle();
    }

    [Fact]
    public async Task Provider_ErrorCodes_MapToCloudErrorKinds()
    {
        await using var cloud = await EmulatedCloud.StartAsync("m5.large", subnetPrefix: 26);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.MaxAttempts = 1);
        var primary = cloud.Cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;

        async Task<CloudException> Fails(Func<Task> act) => (await act.Should().ThrowAsync<CloudException>()).Which;

        await provider.AssignAsync(primary, AddressUnit.SecondaryIPv4, 9, Ct);
        (await Fails(async () => await provider.AssignAsync(primary, AddressUnit.SecondaryIPv4, 1, Ct)))
            .Should().Match<CloudException>(e => e.Kind == CloudErrorKind.EniAddressLimitExceeded && e.ErrorCode == "PrivateIpAddressLimitExceeded");

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 9), Ct);
        (await Fails(async () => await provider.AssignAsync(eni.Id, AddressUnit.IPv4Prefix, 1, Ct))).Kind
            .Should().BeOneOf(CloudErrorKind.NoFreePrefix, CloudErrorKind.EniAddressLimitExceeded);
        await provider.UnassignAsync(eni.Id, [.. eni.SecondaryIPv4.Select(a => new IPNetwork(a, 32))], Ct);
        // A /26 with 20+ random addresses taken has no free aligned /28 left, or soon none.
        var fragmented = await Record.ExceptionAsync(async () =>
        {
            for (var i = 0; i < 4; i++)
            {
                await provider.AssignAsync(eni.Id, AddressUnit.IPv4Prefix, 1, Ct);
            }
        });
        fragmented.Should().BeOfType<CloudException>().Which.ErrorCode.Should().Be("InsufficientCidrBlocks");

        var third = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 0), Ct);
        var full = await Record.ExceptionAsync(async () =>
        {
            for (var i = 0; i < 64; i++)
            {
                await provider.AssignAsync(third.Id, AddressUnit.SecondaryIPv4, 1, Ct);
            }
        });
        ((CloudException)full!).Kind.Should().BeOneOf(CloudErrorKind.SubnetFull, CloudErrorKind.EniAddressLimitExceeded);

        cloud.Vpc.Requests.ForceError("DescribeNetworkInterfaces", Ec2ErrorCodes.UnauthorizedOperation);
        (await Fails(async () => await provider.DescribeInstanceEnisAsync(Ct))).Kind.Should().Be(CloudErrorKind.Unauthorized);
        cloud.Vpc.Requests.ForceError("AssignPrivateIpAddresses", Ec2ErrorCodes.RequestLimitExceeded);
        (await Fails(async () => await provider.AssignAsync(third.Id, AddressUnit.SecondaryIPv4, 1, Ct))).Kind.Should().Be(CloudErrorKind.Throttled);

        await provider.DetachAndDeleteEniAsync("eni-0ffffffffffffffff", Ct);
        (await Fails(async () => await provider.AssignAsync("eni-0ffffffffffffffff", AddressUnit.SecondaryIPv4, 1, Ct))).Kind.Should().Be(CloudErrorKind.NotFound);
    }

    [Fact]
    public async Task RawSdk_Ec2Rules_ReturnEc2ErrorCodes()
    {
        await using var cloud = await EmulatedCloud.StartAsync("t2.micro");
        using var ec2 = cloud.CreateEc2Client();
        var node = cloud.Cluster.Nodes[0];
        var subnet = cloud.Cluster.Subnet.SubnetId;

        async Task<string> Code(Func<Task> act) => (await act.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode;

        var a = (await ec2.CreateNetworkInterfaceAsync(new CreateNetworkInterfaceRequest { SubnetId = subnet }, Ct)).NetworkInterface;
        var b = (await ec2.CreateNetworkInterfaceAsync(new CreateNetworkInterfaceRequest { SubnetId = subnet }, Ct)).NetworkInterface;
        (await Code(() => ec2.AttachNetworkInterfaceAsync(new AttachNetworkInterfaceRequest { NetworkInterfaceId = a.NetworkInterfaceId, InstanceId = node.InstanceId, DeviceIndex = 0 }, Ct)))
            .Should().Be("InvalidParameterValue");
        var attach = await ec2.AttachNetworkInterfaceAsync(new AttachNetworkInterfaceRequest { NetworkInterfaceId = a.NetworkInterfaceId, InstanceId = node.InstanceId, DeviceIndex = 1 }, Ct);
        (await Code(() => ec2.AttachNetworkInterfaceAsync(new AttachNetworkInterfaceRequest { NetworkInterfaceId = a.NetworkInterfaceId, InstanceId = node.InstanceId, DeviceIndex = 2 }, Ct)))
            .Should().Be("InvalidNetworkInterface.InUse");
        (await Code(() => ec2.AttachNetworkInterfaceAsync(new AttachNetworkInterfaceRequest { NetworkInterfaceId = b.NetworkInterfaceId, InstanceId = node.InstanceId, DeviceIndex = 2 }, Ct)))
            .Should().Be("AttachmentLimitExceeded");
        (await Code(() => ec2.DeleteNetworkInterfaceAsync(new DeleteNetworkInterfaceRequest { NetworkInterfaceId = a.NetworkInterfaceId }, Ct)))
            .Should().Be("InvalidNetworkInterface.InUse");
        (await Code(() => ec2.AssignPrivateIpAddressesAsync(new AssignPrivateIpAddressesRequest { NetworkInterfaceId = a.NetworkInterfaceId, SecondaryPrivateIpAddressCount = 2 }, Ct)))
            .Should().Be("PrivateIpAddressLimitExceeded");
        (await Code(() => ec2.DeleteNetworkInterfaceAsync(new DeleteNetworkInterfaceRequest { NetworkInterfaceId = "eni-0123" }, Ct)))
            .Should().Be("InvalidNetworkInterfaceID.NotFound");
        await ec2.DetachNetworkInterfaceAsync(new DetachNetworkInterfaceRequest { AttachmentId = attach.AttachmentId }, Ct);
        await ec2.DeleteNetworkInterfaceAsync(new DeleteNetworkInterfaceRequest { NetworkInterfaceId = a.NetworkInterfaceId }, Ct);
        await ec2.DeleteNetworkInterfaceAsync(new DeleteNetworkInterfaceRequest { NetworkInterfaceId = b.NetworkInterfaceId }, Ct);
        cloud.Vpc.NetworkInterfaces.Should().ContainSingle();
    }

    [Fact]
    public async Task RawSdk_DescribeNetworkInterfaces_PaginatesWithFilters()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        for (var i = 0; i < 12; i++)
        {
            cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "aws-K8S-i-gone", null, 0, 0,
                new Dictionary<string, string> { [EniTags.InstanceId] = "i-gone" });
        }

        var ids = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest
            {
                Filters = [new Filter("status", ["available"]), new Filter("tag-key", [EniTags.InstanceId]), new Filter("vpc-id", [cloud.Cluster.VpcInfo.VpcId])],
                MaxResults = 5,
                NextToken = token,
            }, Ct);
            ids.AddRange(page.NetworkInterfaces.Select(n => n.NetworkInterfaceId));
            token = page.NextToken;
            pages++;
        }
        while (!string.IsNullOrEmpty(token) && pages < 10);

        pages.Should().Be(3);
        ids.Should().HaveCount(12).And.OnlyHaveUniqueItems();
        var subnets = await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { Filters = [new Filter("tag:kubernetes.io/role/cni", ["1"])] }, Ct);
        subnets.Subnets.Should().ContainSingle().Which.AvailableIpAddressCount.Should().BeGreaterThan(4000);
        var types = await ec2.DescribeInstanceTypesAsync(new DescribeInstanceTypesRequest { InstanceTypes = ["p5.48xlarge"] }, Ct);
        types.InstanceTypes[0].NetworkInfo.MaximumNetworkCards.Should().Be(32);
    }

    [Fact]
    public async Task SweepOwnAsync_FreshLeftoversOfThisInstance_DeletedAtOnceOthersKept()
    {
        await using var cloud = await EmulatedCloud.StartAsync(nodes: 2);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, 0, o => o.DeleteRetryDelay = TimeSpan.FromMilliseconds(10));
        var self = cloud.Cluster.Nodes[0].InstanceId;
        var other = cloud.Cluster.Nodes[1].InstanceId;
        Dictionary<string, string> Tags(string instance) => new()
        {
            [EniTags.InstanceId] = instance,
            [EniTags.CreatedAt] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        };
        var ours = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "aws-K8S-" + self, null, 0, 0, Tags(self));
        var theirs = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "aws-K8S-" + other, null, 0, 0, Tags(other));
        var notCni = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "someone else", null, 0, 0, Tags(self));
        var live = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);

        var result = await new LeakedEniSweeper(ec2, provider, new Ec2ProviderOptions { Ec2Endpoint = cloud.Endpoint }).SweepOwnAsync(Ct);

        result.Deleted.Should().Equal(ours.NetworkInterfaceId);
        var left = cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).ToList();
        left.Should().NotContain(ours.NetworkInterfaceId, "nothing but an earlier run of this node's daemon makes an available ENI with its tag");
        left.Should().Contain([theirs.NetworkInterfaceId, notCni.NetworkInterfaceId, live.Id]);
    }

    [Fact]
    public async Task Sweeper_LeakedEnis_DeletedOnceEvenWithTwoNodesSweeping()
    {
        await using var cloud = await EmulatedCloud.StartAsync(nodes: 2);
        using var ec2 = cloud.CreateEc2Client();
        var options = new Ec2ProviderOptions { Ec2Endpoint = cloud.Endpoint, LeakedEniGracePeriod = TimeSpan.FromHours(1), DeleteRetryDelay = TimeSpan.FromMilliseconds(10) };
        using var p0 = cloud.CreateProvider(ec2, 0, o => o.LeakedEniGracePeriod = TimeSpan.Zero);
        using var p1 = cloud.CreateProvider(ec2, 1, o => o.LeakedEniGracePeriod = TimeSpan.Zero);
        for (var i = 0; i < 6; i++)
        {
            cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "aws-K8S-i-old", null, 0, 0, new Dictionary<string, string>
            {
                [EniTags.InstanceId] = "i-old",
                [EniTags.CreatedAt] = "2020-01-01T00:00:00Z",
            });
        }

        var untagged = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "aws-K8S-i-old", null, 0, 0,
            new Dictionary<string, string> { [EniTags.InstanceId] = "i-old" });
        var foreign = cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, "someone else", null, 0, 0,
            new Dictionary<string, string> { [EniTags.InstanceId] = "i-old" });
        var live = await p0.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);

        var results = await Task.WhenAll(
            new LeakedEniSweeper(ec2, p0, options).SweepAsync(Ct).AsTask(),
            new LeakedEniSweeper(ec2, p1, options).SweepAsync(Ct).AsTask());

        results.Sum(r => r.Deleted.Count).Should().Be(6, "each leaked ENI is deleted exactly once across both sweeps");
        results.SelectMany(r => r.Tagged).Should().Contain(untagged.NetworkInterfaceId);
        var left = cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).ToList();
        left.Should().Contain([untagged.NetworkInterfaceId, foreign.NetworkInterfaceId, live.Id]);
        left.Should().HaveCount(5, "two primaries, the live ENI, the just-tagged one and the foreign one");
    }

    [Fact]
    public async Task Provider_UnderInjectedThrottlingAndServerErrors_CompletesAndLeaksNothing()
    {
        await using var cloud = await EmulatedCloud.StartAsync("m5.4xlarge");
        cloud.Vpc.Requests.SetErrorRate("*", Ec2ErrorCodes.RequestLimitExceeded, 0.20);
        cloud.Vpc.Requests.SetErrorRate("*", Ec2ErrorCodes.InternalError, 0.05);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o => o.MaxAttempts = 12);

        var created = new List<VpcCni.Cloud.NetworkInterface>();
        for (var i = 0; i < 4; i++)
        {
            var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 5), Ct);
            var extra = await provider.AssignAsync(eni.Id, AddressUnit.SecondaryIPv4, 3, Ct);
            await provider.UnassignAsync(eni.Id, extra, Ct);
            created.Add(eni);
        }

        foreach (var eni in created)
        {
            await provider.DetachAndDeleteEniAsync(eni.Id, Ct);
        }

        cloud.Vpc.Requests.Rejections.Values.Sum().Should().BeGreaterThan(0, "faults were injected");
        cloud.Vpc.NetworkInterfaces.Should().ContainSingle("every created ENI was deleted; none leaked");
        cloud.Vpc.DescribeSubnets([cloud.Cluster.Subnet.SubnetId])[0].AvailableIpAddressCount
            .Should().Be(cloud.Cluster.Subnet.AvailableIpAddressCount);
    }

    [Theory]
    [InlineData("Action=NoSuchThing", 400, "InvalidAction")]
    [InlineData("Version=2016-11-15", 400, "MissingAction")]
    [InlineData("Action=AttachNetworkInterface&NetworkInterfaceId=eni-1&InstanceId=i-1&DeviceIndex=abc", 400, "InvalidParameterValue")]
    [InlineData("Action=DeleteNetworkInterface&NetworkInterfaceId=eni-nope", 400, "InvalidNetworkInterfaceID.NotFound")]
    [InlineData("Action=DescribeNetworkInterfaces&Filter.x.Name=vpc-id", 400, "InvalidParameterValue")]
    [InlineData("Action=DescribeNetworkInterfaces&MaxResults=5&NextToken=garbage", 400, "InvalidNextToken")]
    [InlineData("Action=UnassignPrivateIpAddresses&NetworkInterfaceId=eni-1&PrivateIpAddress.1=not-an-ip", 400, "InvalidParameterValue")]
    public async Task Emulator_BadRequests_Ec2ErrorDocuments(string body, int status, string code)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await cloud.Http.PostAsync(cloud.Endpoint, content, Ct);
        var xml = await response.Content.ReadAsStringAsync(Ct);

        ((int)response.StatusCode).Should().Be(status);
        System.Xml.Linq.XDocument.Parse(xml).Root!.Element("Errors")!.Element("Error")!.Element("Code")!.Value.Should().Be(code);
    }

    [Fact]
    public async Task Emulator_OversizedRequest_413WithoutCrash()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var content = new StringContent("Action=DescribeSubnets&Junk=" + new string('x', 300_000), Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await cloud.Http.PostAsync(cloud.Endpoint, content, Ct);
        using var ok = new StringContent("Action=DescribeSubnets", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var after = await cloud.Http.PostAsync(cloud.Endpoint, ok, Ct);

        ((int)response.StatusCode).Should().Be(413);
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
