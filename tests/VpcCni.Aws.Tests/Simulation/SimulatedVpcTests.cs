using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Simulation;

public class SimulatedVpcTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (SimulatedCluster Cluster, FakeTimeProvider Time) Create(
        string type = "m5.large", int nodes = 1, int prefix = 20, Action<SimulatedVpcOptions>? configure = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new SimulatedVpcOptions();
        configure?.Invoke(options);
        return (SimulatedCluster.Create(type, nodes, prefix, options, time), time);
    }

    private static SimulatedEc2Exception Ec2Error(Action action) =>
        action.Should().Throw<SimulatedEc2Exception>().Which;

    [Fact]
    public async Task Provider_FullLifecycle_CreatesTagsAssignsAndDeletes()
    {
        var (cluster, _) = Create();
        var node = cluster.Nodes[0];
        var provider = new SimulatedEniProvider(cluster.Vpc, node.InstanceId, "demo");

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 4), Ct);
        var added = await provider.AssignAsync(eni.Id, AddressUnit.SecondaryIPv4, 3, Ct);
        var enis = await provider.DescribeInstanceEnisAsync(Ct);

        eni.DeviceIndex.Should().Be(1);
        eni.SecondaryIPv4.Should().HaveCount(4);
        eni.Tags.Should().Contain(EniTags.InstanceId, node.InstanceId).And.Contain(EniTags.ClusterName, "demo");
        added.Should().HaveCount(3).And.OnlyContain(c => c.PrefixLength == 32);
        enis.Should().HaveCount(2);
        enis[1].SecondaryIPv4.Should().HaveCount(7);
        var ec2 = cluster.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0];
        ec2.Description.Should().Be("aws-K8S-" + node.InstanceId);
        ec2.Attachment!.DeleteOnTermination.Should().BeTrue();

        await provider.UnassignAsync(eni.Id, added, Ct);
        await provider.DetachAndDeleteEniAsync(eni.Id, Ct);
        await provider.DetachAndDeleteEniAsync(eni.Id, Ct);

        cluster.Vpc.NetworkInterfaces.Should().ContainSingle();
        cluster.Vpc.DescribeSubnets([cluster.Subnet.SubnetId])[0].AvailableIpAddressCount
            .Should().Be(cluster.Subnet.AvailableIpAddressCount);
    }

    [Fact]
    public void Attach_DeviceIndexInUse_InvalidParameterValue()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;
        var a = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 0, 0, null);
        var b = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 0, 0, null);
        vpc.AttachNetworkInterface(a.NetworkInterfaceId, cluster.Nodes[0].InstanceId, 1);

        Ec2Error(() => vpc.AttachNetworkInterface(b.NetworkInterfaceId, cluster.Nodes[0].InstanceId, 1))
            .Code.Should().Be(Ec2ErrorCodes.InvalidParameterValue);
        Ec2Error(() => vpc.AttachNetworkInterface(a.NetworkInterfaceId, cluster.Nodes[0].InstanceId, 2))
            .Code.Should().Be(Ec2ErrorCodes.NetworkInterfaceInUse);
        Ec2Error(() => vpc.DeleteNetworkInterface(a.NetworkInterfaceId))
            .Code.Should().Be(Ec2ErrorCodes.NetworkInterfaceInUse);
        Ec2Error(() => vpc.DeleteNetworkInterface("eni-00000000000000000"))
            .Code.Should().Be(Ec2ErrorCodes.NetworkInterfaceNotFound);
    }

    [Fact]
    public void Attach_BeyondInstanceLimit_AttachmentLimitExceeded()
    {
        var (cluster, _) = Create("t2.micro");
        var vpc = cluster.Vpc;
        var id = cluster.Nodes[0].InstanceId;
        vpc.AttachNetworkInterface(vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 0, 0, null).NetworkInterfaceId, id, 1);
        var third = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 0, 0, null);

        var error = Ec2Error(() => vpc.AttachNetworkInterface(third.NetworkInterfaceId, id, 2));

        error.Code.Should().Be(Ec2ErrorCodes.AttachmentLimitExceeded);
        Ec2ErrorCodes.Classify(error.Code).Should().Be(CloudErrorKind.AttachmentLimitExceeded);
    }

    [Fact]
    public void Assign_BeyondPerEniLimit_PrivateIpAddressLimitExceeded()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;
        var primary = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;
        vpc.AssignPrivateIpAddresses(primary, 9, 0);

        Ec2Error(() => vpc.AssignPrivateIpAddresses(primary, 1, 0)).Code.Should().Be(Ec2ErrorCodes.PrivateIpAddressLimitExceeded);
    }

    [Fact]
    public void Assign_SubnetExhausted_InsufficientFreeAddressesInSubnet()
    {
        // A /28 has 11 usable addresses; the node's primary ENI took one.
        var (cluster, _) = Create("m5.4xlarge", prefix: 28);
        var vpc = cluster.Vpc;
        var primary = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;
        vpc.AssignPrivateIpAddresses(primary, 10, 0);

        Ec2Error(() => vpc.AssignPrivateIpAddresses(primary, 1, 0)).Code.Should().Be(Ec2ErrorCodes.InsufficientFreeAddressesInSubnet);
        Ec2Error(() => vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 0, 0, null))
            .Code.Should().Be(Ec2ErrorCodes.InsufficientFreeAddressesInSubnet);
    }

    [Fact]
    public void AssignPrefix_FragmentedSubnet_InsufficientCidrBlocks()
    {
        // /26 = four /28 blocks; the first holds reserved addresses, the last the broadcast.
        var (cluster, _) = Create("m5.4xlarge", prefix: 26);
        var vpc = cluster.Vpc;
        var primary = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;
        var free = vpc.FreePrefixCount(cluster.Subnet.SubnetId);
        free.Should().BeLessThanOrEqualTo(2);
        vpc.AssignPrivateIpAddresses(primary, 20, 0);

        var available = vpc.DescribeSubnets([cluster.Subnet.SubnetId])[0].AvailableIpAddressCount;
        available.Should().BeGreaterThanOrEqualTo(16, "enough addresses remain in total");
        if (vpc.FreePrefixCount(cluster.Subnet.SubnetId) == 0)
        {
            Ec2Error(() => vpc.AssignPrivateIpAddresses(primary, 0, 1)).Code.Should().Be(Ec2ErrorCodes.InsufficientCidrBlocks);
        }
        else
        {
            vpc.AssignPrivateIpAddresses(primary, 0, vpc.FreePrefixCount(cluster.Subnet.SubnetId));
            Ec2Error(() => vpc.AssignPrivateIpAddresses(primary, 0, 1)).Code.Should().Be(Ec2ErrorCodes.InsufficientCidrBlocks);
        }
    }

    [Fact]
    public void Attach_WithDelay_CompletesOnClockAndRaisesEvent()
    {
        var (cluster, time) = Create(configure: o => { o.AttachDelay = TimeSpan.FromSeconds(2); o.DetachDelay = TimeSpan.FromSeconds(3); });
        var vpc = cluster.Vpc;
        var events = new List<SimulatedVpcChangeEventArgs>();
        vpc.Changed += (_, e) => events.Add(e);
        var eni = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 2, 0, null);
        var attachment = vpc.AttachNetworkInterface(eni.NetworkInterfaceId, cluster.Nodes[0].InstanceId, 1);

        vpc.DescribeNetworkInterfaces([eni.NetworkInterfaceId]).Items[0].Attachment!.Status.Should().Be("attaching");
        events.Should().BeEmpty();
        time.Advance(TimeSpan.FromSeconds(2));
        vpc.DescribeNetworkInterfaces([eni.NetworkInterfaceId]).Items[0].Attachment!.Status.Should().Be("attached");
        events.Should().ContainSingle().Which.Kind.Should().Be(SimulatedVpcChangeKind.EniAttached);
        events[0].Cidrs.Should().HaveCount(3);

        vpc.DetachNetworkInterface(attachment);
        Ec2Error(() => vpc.DeleteNetworkInterface(eni.NetworkInterfaceId)).Code.Should().Be(Ec2ErrorCodes.NetworkInterfaceInUse);
        time.Advance(TimeSpan.FromSeconds(3));
        events.Last().Kind.Should().Be(SimulatedVpcChangeKind.EniDetached);
        vpc.DeleteNetworkInterface(eni.NetworkInterfaceId);
    }

    [Fact]
    public void Imds_Lag_ShowsEniAndAddressesOnlyAfterLag()
    {
        var (cluster, time) = Create(configure: o => o.ImdsLag = TimeSpan.FromSeconds(5));
        var vpc = cluster.Vpc;
        var id = cluster.Nodes[0].InstanceId;
        var eni = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "x", null, 2, 0, null);
        vpc.AttachNetworkInterface(eni.NetworkInterfaceId, id, 1);

        vpc.GetImdsView(id).Interfaces.Should().ContainSingle();
        time.Advance(TimeSpan.FromSeconds(5));
        var view = vpc.GetImdsView(id);
        view.Interfaces.Should().HaveCount(2);
        view.Interfaces[1].LocalIPv4s.Should().HaveCount(3);
        view.Interfaces[1].DeviceNumber.Should().Be(1);

        var added = vpc.AssignPrivateIpAddresses(eni.NetworkInterfaceId, 1, 0);
        vpc.GetImdsView(id).Interfaces[1].LocalIPv4s.Should().HaveCount(3);
        time.Advance(TimeSpan.FromSeconds(5));
        vpc.GetImdsView(id).Interfaces[1].LocalIPv4s.Should().Contain(added[0].BaseAddress);
    }

    [Fact]
    public async Task RequestGate_MutatingBucket_ThrottlesThenRefills()
    {
        var (cluster, time) = Create();
        var gate = cluster.Vpc.Requests;
        for (var i = 0; i < 50; i++)
        {
            await gate.EnterAsync("AttachNetworkInterface", true, Ct);
        }

        var act = async () => await gate.EnterAsync("AttachNetworkInterface", true, Ct);
        (await act.Should().ThrowAsync<SimulatedEc2Exception>()).Which.Code.Should().Be(Ec2ErrorCodes.RequestLimitExceeded);
        await gate.EnterAsync("DescribeSubnets", true, Ct);

        time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            await gate.EnterAsync("AttachNetworkInterface", true, Ct);
        }

        await act.Should().ThrowAsync<SimulatedEc2Exception>();
        gate.Counts["AttachNetworkInterface"].Should().Be(57);
        gate.Rejections[Ec2ErrorCodes.RequestLimitExceeded].Should().Be(2);
    }

    [Fact]
    public async Task RequestGate_ForcedAndRateFaults_AreDeterministic()
    {
        var (cluster, _) = Create(configure: o => o.EnforceRequestLimits = false);
        var gate = cluster.Vpc.Requests;
        gate.ForceError("CreateNetworkInterface", Ec2ErrorCodes.UnauthorizedOperation);
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Kind.Should().Be(CloudErrorKind.Unauthorized);
        gate.SetErrorRate("DescribeSubnets", Ec2ErrorCodes.InternalError, 0.5);
        var failures = 0;
        for (var i = 0; i < 200; i++)
        {
            try
            {
                await gate.EnterAsync("DescribeSubnets", true, Ct);
            }
            catch (SimulatedEc2Exception e) when (e.HttpStatus == 500)
            {
                failures++;
            }
        }

        failures.Should().BeInRange(70, 130);
    }

    [Fact]
    public async Task Provider_AttachFails_DeletesCreatedEni()
    {
        var (cluster, _) = Create();
        cluster.Vpc.Requests.ForceError("AttachNetworkInterface", Ec2ErrorCodes.InternalError);
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.IPv4Prefix, 1), Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Kind.Should().Be(CloudErrorKind.Transient);
        cluster.Vpc.NetworkInterfaces.Should().ContainSingle("the created ENI was deleted again");
    }

    [Fact]
    public void DescribeNetworkInterfaces_PaginatesAndFilters()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;
        for (var i = 0; i < 12; i++)
        {
            vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "aws-K8S-x", null, 0, 0,
                new Dictionary<string, string> { [EniTags.InstanceId] = "i-x" });
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = vpc.DescribeNetworkInterfaces(filters: [new Ec2Filter("status", ["available"]), new Ec2Filter("tag-key", [EniTags.InstanceId])], maxResults: 5, nextToken: token);
            seen.AddRange(page.Items.Select(e => e.NetworkInterfaceId));
            token = page.NextToken;
            pages++;
        }
        while (token is not null && pages < 10);

        pages.Should().Be(3);
        seen.Should().HaveCount(12).And.OnlyHaveUniqueItems();
        Ec2Error(() => vpc.DescribeNetworkInterfaces(filters: [new Ec2Filter("bogus", ["x"])])).Code.Should().Be(Ec2ErrorCodes.InvalidParameterValue);
        Ec2Error(() => vpc.DescribeNetworkInterfaces(maxResults: 2)).Code.Should().Be(Ec2ErrorCodes.InvalidParameterValue);
    }

    [Fact]
    public void Unassign_AddressNotOnEni_InvalidParameterValue()
    {
        var (cluster, _) = Create();
        var primary = cluster.Nodes[0].NetworkInterfaces[0];

        Ec2Error(() => cluster.Vpc.UnassignPrivateIpAddresses(primary.NetworkInterfaceId, [new IPNetwork(IPAddress.Parse("10.0.9.9"), 32)]))
            .Code.Should().Be(Ec2ErrorCodes.InvalidParameterValue);
    }
}
