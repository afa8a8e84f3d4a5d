using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// "Committed, then failed": EC2 carries a request out but its reply is lost (a 500 or a dropped connection) and the
/// real SDK client's call is retried by the provider's policy. Nothing may leak and nothing may be done twice.
/// </summary>
public sealed class LostReplyWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CreateAndAttachEniAsync_CreateReplyLost_LeavesExactlyOneEni(bool dropConnection)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.DropLostReplies = dropConnection;
        cloud.Vpc.Requests.ForceLostReply("CreateNetworkInterface");

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 3), Ct);

        cloud.Vpc.Requests.LostReplies.Should().Contain("CreateNetworkInterface", 1);
        cloud.Vpc.Requests.Counts["CreateNetworkInterface"].Should().Be(2, "the lost reply was retried once");
        cloud.Vpc.NetworkInterfaces.Should().HaveCount(2, "the primary ENI and the one created: the retry got the same ENI back")
            .And.ContainSingle(e => e.NetworkInterfaceId == eni.Id);
        cloud.Vpc.NetworkInterfaces.Should().OnlyContain(e => e.Attachment != null, "no unowned, unattached ENI is left behind");
        eni.SecondaryIPv4.Should().HaveCount(3);
    }

    [Fact]
    public async Task CreateAndAttachEniAsync_AttachReplyLost_UsesTheAttachmentItMade()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ForceLostReply("AttachNetworkInterface");

        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 2), Ct);

        cloud.Vpc.Requests.Counts["AttachNetworkInterface"].Should().Be(2);
        var inEc2 = cloud.Vpc.DescribeNetworkInterfaces([eni.Id]).Items[0];
        inEc2.Attachment.Should().NotBeNull();
        inEc2.Attachment!.AttachmentId.Should().Be(eni.AttachmentId);
        inEc2.Attachment.DeleteOnTermination.Should().BeTrue("the attachment adopted after the lost reply was finished like any other");
        eni.DeviceIndex.Should().Be(inEc2.Attachment.DeviceIndex);
        cloud.Vpc.NetworkInterfaces.Should().HaveCount(2);
    }

    [Fact]
    public async Task AssignAsync_ReplyLost_ExtraAddressesAreOnTheEniAndDescribedForReconcile()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);
        cloud.Vpc.Requests.ForceLostReply("AssignPrivateIpAddresses");

        // The first assign is carried out but its reply is lost; the retry assigns two more. The caller learns of the
        // second pair only; the first pair is not lost: EC2 lists it, so the engine's reconcile takes it over.
        var assigned = await provider.AssignAsync(eni.Id, AddressUnit.SecondaryIPv4, 2, Ct);
        var described = (await provider.DescribeInstanceEnisAsync(Ct)).Single(e => e.Id == eni.Id);

        assigned.Should().HaveCount(2);
        described.SecondaryIPv4.Should().HaveCount(5);
        described.SecondaryIPv4.Select(a => new IPNetwork(a, 32)).Should().Contain(assigned);
        cloud.Vpc.NetworkInterfaces.Should().HaveCount(2);
    }
}
