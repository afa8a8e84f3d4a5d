using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Simulation;
using VpcCni.Aws.Tests.Emulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Simulation;

/// <summary>The chaos primitives a lab drives: idempotent creates, lost replies, a briefly empty view, IMDS lag.</summary>
public sealed class ChaosSwitchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (SimulatedCluster Cluster, FakeTimeProvider Time) Create()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return (SimulatedCluster.Create(timeProvider: time), time);
    }

    private static Dictionary<string, string> Tags(string value) => new() { ["k"] = value };

    [Fact]
    public void CreateNetworkInterface_SameClientTokenSameParameters_ReturnsTheSameEni()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;

        var first = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "d", [cluster.SecurityGroupId], 2, 0, Tags("v"), "token-1");
        var again = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "d", [cluster.SecurityGroupId], 2, 0, Tags("v"), "token-1");
        var other = vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "d", [cluster.SecurityGroupId], 2, 0, Tags("v"), "token-2");

        again.NetworkInterfaceId.Should().Be(first.NetworkInterfaceId);
        again.SecondaryIPv4.Should().Equal(first.SecondaryIPv4);
        other.NetworkInterfaceId.Should().NotBe(first.NetworkInterfaceId);
        vpc.NetworkInterfaces.Should().HaveCount(3);
    }

    [Fact]
    public void CreateNetworkInterface_SameClientTokenOtherParameters_IdempotentParameterMismatch()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;
        vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "d", null, 2, 0, Tags("v"), "token-1");

        var act = () => vpc.CreateNetworkInterface(cluster.Subnet.SubnetId, "d", null, 3, 0, Tags("v"), "token-1");

        var error = act.Should().Throw<SimulatedEc2Exception>().Which;
        error.Code.Should().Be("IdempotentParameterMismatch");
        error.HttpStatus.Should().Be(400);
        vpc.NetworkInterfaces.Should().HaveCount(2);
    }

    [Fact]
    public async Task SimulatedProvider_CreateReplyLost_RetriesWithTheTokenAndLeavesOneEni()
    {
        var (cluster, _) = Create();
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        cluster.Vpc.Requests.ForceLostReply("CreateNetworkInterface");

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 2), Ct);

        cluster.Vpc.Requests.LostReplies.Should().Contain("CreateNetworkInterface", 1);
        cluster.Vpc.NetworkInterfaces.Should().HaveCount(2).And.OnlyContain(e => e.Attachment != null);
        eni.SecondaryIPv4.Should().HaveCount(2);
    }

    [Fact]
    public async Task SimulatedProvider_AttachReplyLost_FailsAndLeavesNoEni()
    {
        var (cluster, _) = Create();
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        cluster.Vpc.Requests.ForceLostReply("AttachNetworkInterface");

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 2), Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Kind.Should().Be(CloudErrorKind.Transient);
        cluster.Vpc.NetworkInterfaces.Should().ContainSingle("the attached ENI whose reply was lost is detached and deleted");
    }

    [Fact]
    public async Task SetLostReplyRate_One_EveryCallCarriedOutAndAnsweredInternalError()
    {
        var (cluster, _) = Create();
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var primary = cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId;
        cluster.Vpc.Requests.SetLostReplyRate("AssignPrivateIpAddresses", 1);

        var act = async () => await provider.AssignAsync(primary, AddressUnit.SecondaryIPv4, 2, Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.ErrorCode.Should().Be("InternalError");
        cluster.Vpc.DescribeNetworkInterfaces([primary]).Items[0].SecondaryIPv4.Should().HaveCount(2, "the change was made");
        cluster.Vpc.Requests.ClearFaults();
        (await provider.AssignAsync(primary, AddressUnit.SecondaryIPv4, 1, Ct)).Should().ContainSingle();
    }

    [Fact]
    public async Task ForceEmptyDescribe_NextCallsListNothing_ThenTheEnisAgain()
    {
        var (cluster, _) = Create();
        var provider = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        cluster.Vpc.Requests.ForceEmptyDescribe(2);

        var first = await provider.DescribeInstanceEnisAsync(Ct);
        var second = await provider.DescribeInstanceEnisAsync(Ct);
        var third = await provider.DescribeInstanceEnisAsync(Ct);

        first.Should().BeEmpty();
        second.Should().BeEmpty();
        third.Should().ContainSingle();
    }

    [Fact]
    public async Task ForceEmptyView_ForAPeriod_EmptyOverTheWireAndInImdsUntilItEnds()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var cloud = await EmulatedCloud.StartAsync(time: time);
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        using var imds = cloud.CreateImds();
        var mac = await imds.GetPrimaryMacAsync(Ct);
        await provider.GetInstanceAsync(Ct);

        cloud.Vpc.Requests.ForceEmptyView(TimeSpan.FromSeconds(30));
        var during = await provider.DescribeInstanceEnisAsync(Ct);
        var macsDuring = await imds.GetMacsAsync(Ct);
        var byId = cloud.Vpc.DescribeNetworkInterfaces([cloud.Cluster.Nodes[0].NetworkInterfaces[0].NetworkInterfaceId]).Items;
        time.Advance(TimeSpan.FromSeconds(30));
        var after = await provider.DescribeInstanceEnisAsync(Ct);
        var macsAfter = await imds.GetMacsAsync(Ct);

        during.Should().BeEmpty();
        macsDuring.Should().BeEmpty();
        byId.Should().ContainSingle("only listing calls see the empty view");
        after.Should().ContainSingle();
        macsAfter.Should().Equal(mac);
    }

    [Fact]
    public void ImdsLag_ChangedWhileRunning_AppliesToLaterChanges()
    {
        var (cluster, time) = Create();
        var vpc = cluster.Vpc;
        var node = cluster.Nodes[0];
        var primary = node.NetworkInterfaces[0].NetworkInterfaceId;
        vpc.AssignPrivateIpAddresses(primary, 1, 0);
        vpc.GetImdsView(node.InstanceId).Interfaces[0].LocalIPv4s.Should().HaveCount(2, "no lag at first");

        vpc.Options.ImdsLag = TimeSpan.FromSeconds(10);
        vpc.AssignPrivateIpAddresses(primary, 1, 0);
        var lagging = vpc.GetImdsView(node.InstanceId).Interfaces[0].LocalIPv4s.Count;
        time.Advance(TimeSpan.FromSeconds(10));
        var caughtUp = vpc.GetImdsView(node.InstanceId).Interfaces[0].LocalIPv4s.Count;
        vpc.Options.ImdsLag = TimeSpan.Zero;
        vpc.AssignPrivateIpAddresses(primary, 1, 0);

        lagging.Should().Be(2, "the address assigned under the new 10 s lag is not in IMDS yet");
        caughtUp.Should().Be(3);
        vpc.GetImdsView(node.InstanceId).Interfaces[0].LocalIPv4s.Should().HaveCount(4, "the lag was set back to zero");
    }

    [Fact]
    public async Task SimulatedProvider_EnsureEniTags_AddsMissingTagsOnce()
    {
        var (cluster, _) = Create();
        var node = cluster.Nodes[0];
        var provider = new SimulatedEniProvider(cluster.Vpc, node.InstanceId, "demo") { AdditionalEniTags = new Dictionary<string, string> { ["team"] = "net" } };
        var primary = (await provider.DescribeInstanceEnisAsync(Ct))[0];
        cluster.Vpc.Requests.ResetCounts();

        await provider.EnsureEniTagsAsync(primary, Ct);
        var tagged = (await provider.DescribeInstanceEnisAsync(Ct))[0];
        await provider.EnsureEniTagsAsync(tagged, Ct);
        await provider.EnsureEniTagsAsync(tagged with { Tags = new Dictionary<string, string>(), Kind = EniKind.Trunk }, Ct);

        tagged.Tags.Should().Contain(EniTags.InstanceId, node.InstanceId).And.Contain(EniTags.ClusterName, "demo")
            .And.Contain(EniTags.Owner, EniTags.OwnerValue).And.Contain("team", "net");
        cluster.Vpc.Requests.Counts.GetValueOrDefault("CreateTags").Should().Be(1);
    }

    [Fact]
    public async Task SimulatedProvider_ExcludedSubnet_EniMarkedUnlessDiscoveryOff()
    {
        var (cluster, _) = Create();
        var vpc = cluster.Vpc;
        var excluded = vpc.AddSubnet(cluster.VpcInfo.VpcId, "us-west-2a", IPNetwork.Parse("10.0.64.0/24"),
            new Dictionary<string, string> { [EniTags.SubnetRole] = "0" });
        var provider = new SimulatedEniProvider(vpc, cluster.Nodes[0].InstanceId);
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1) { SubnetId = excluded.SubnetId }, Ct);

        var on = await provider.DescribeInstanceEnisAsync(Ct);
        var off = await new SimulatedEniProvider(vpc, cluster.Nodes[0].InstanceId) { SubnetDiscovery = false }.DescribeInstanceEnisAsync(Ct);

        on.Single(e => e.Id == eni.Id).IsExcludedForPodIPs.Should().BeTrue();
        on.Single(e => e.IsPrimary).IsExcludedForPodIPs.Should().BeFalse();
        off.Should().OnlyContain(e => !e.IsExcludedForPodIPs);
    }
}
