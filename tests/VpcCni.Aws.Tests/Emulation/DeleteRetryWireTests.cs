using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>A delete has one retry layer: at most DeleteAttempts requests, whatever EC2 answers.</summary>
public sealed class DeleteRetryWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("RequestLimitExceeded")]
    [InlineData("InternalError")]
    [InlineData("InvalidNetworkInterface.InUse")]
    public async Task DetachAndDeleteEniAsync_EveryDeleteRefused_SendsAtMostDeleteAttempts(string code)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o =>
        {
            o.MaxAttempts = 3;
            o.DeleteAttempts = 4;
            o.DeleteRetryDelay = TimeSpan.FromMilliseconds(5);
            o.DeleteRetryMaxDelay = TimeSpan.FromMilliseconds(20);
        });
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);
        cloud.Vpc.Requests.ForceError("DeleteNetworkInterface", code, 100);
        cloud.Vpc.Requests.ResetCounts();

        var act = async () => await provider.DetachAndDeleteEniAsync(eni.Id, Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.ErrorCode.Should().Be(code);
        cloud.Vpc.Requests.Counts["DeleteNetworkInterface"].Should().Be(4, "DeleteAttempts bounds the requests of one delete (not DeleteAttempts × MaxAttempts)");
    }

    [Fact]
    public async Task DetachAndDeleteEniAsync_InUseWhileDetaching_RetriedUntilDeleted()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2, configure: o =>
        {
            o.DeleteAttempts = 6;
            o.DeleteRetryDelay = TimeSpan.FromMilliseconds(5);
            o.DeleteRetryMaxDelay = TimeSpan.FromMilliseconds(20);
        });
        var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 1), Ct);
        cloud.Vpc.Requests.ForceError("DeleteNetworkInterface", "InvalidNetworkInterface.InUse", 2);
        cloud.Vpc.Requests.ResetCounts();

        await provider.DetachAndDeleteEniAsync(eni.Id, Ct);

        cloud.Vpc.Requests.Counts["DeleteNetworkInterface"].Should().Be(3);
        cloud.Vpc.NetworkInterfaces.Should().ContainSingle();
    }
}
