using System.Reflection;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Aws.Ec2;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// The attach went through on EC2's side but its reply never arrived (a shutdown cancelled the call, a connection
/// broke): the provider must not leave an attached ENI behind. Real SDK client and emulator; only the reply is lost.
/// </summary>
public sealed class AttachCleanupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateAndAttachEniAsync_AttachAppliedButReplyLost_DetachesAndDeletesTheEni()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        var lossy = ReplyLosingEc2.Wrap(ec2, "AttachNetworkInterfaceAsync");
        using var provider = new Ec2EniProvider(lossy, cloud.CreateImds(), new Ec2ProviderOptions
        {
            Ec2Endpoint = cloud.Endpoint,
            MaxAttempts = 1,
            DeleteRetryDelay = TimeSpan.FromMilliseconds(20),
        });
        var before = cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).ToList();

        var act = async () => await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 2), Ct);

        await act.Should().ThrowAsync<Exception>();
        cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).Should().Equal(before, "the ENI whose attach reply was lost is detached and deleted");
    }

    /// <summary>Forwards every call to the real client; for one method it lets the call complete, then loses the reply.</summary>
    public class ReplyLosingEc2 : DispatchProxy
    {
        private IAmazonEC2 _inner = null!;
        private string _method = "";

        public static IAmazonEC2 Wrap(IAmazonEC2 inner, string method)
        {
            var proxy = Create<IAmazonEC2, ReplyLosingEc2>();
            var self = (ReplyLosingEc2)(object)proxy;
            self._inner = inner;
            self._method = method;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var result = targetMethod!.Invoke(_inner, args);
            return targetMethod.Name == _method && result is Task<AttachNetworkInterfaceResponse> call ? LoseReply(call) : result;
        }

        private static async Task<AttachNetworkInterfaceResponse> LoseReply(Task<AttachNetworkInterfaceResponse> call)
        {
            await call;
            throw new HttpRequestException("connection reset after the request was sent");
        }
    }
}
