using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>A type newer than the embedded table is described by EC2 once (over the wire) and cached.</summary>
public sealed class InstanceTypeFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetInstanceLimits_UnknownType_DescribedOnceThenCached()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        cloud.Vpc.RegisterInstanceType(new InstanceLimits("x9.future", 6, 20) { Hypervisor = "nitro" });
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ResetCounts();

        var first = await provider.GetInstanceLimitsAsync("x9.future", Ct);
        var again = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => provider.GetInstanceLimitsAsync("x9.future", Ct).AsTask()));

        first.MaxEnis.Should().Be(6);
        first.IPv4PerEni.Should().Be(20);
        again.Should().OnlyContain(l => l.MaxEnis == 6 && l.IPv4PerEni == 20);
        cloud.Vpc.Requests.Counts.GetValueOrDefault("DescribeInstanceTypes").Should().Be(1, "one DescribeInstanceTypes per unknown type, cached");
    }

    [Fact]
    public async Task GetInstanceLimits_KnownType_NeverCallsEc2()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ResetCounts();

        (await provider.GetInstanceLimitsAsync("m5.large", Ct)).MaxEnis.Should().Be(3);

        cloud.Vpc.Requests.Counts.GetValueOrDefault("DescribeInstanceTypes").Should().Be(0);
    }

    [Fact]
    public async Task GetInstanceLimits_TypeEc2DoesNotKnow_ErrorNamesTheType()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);

        var act = async () => await provider.GetInstanceLimitsAsync("x9.nothing", Ct);

        (await act.Should().ThrowAsync<CloudException>()).Which.Message.Should().Contain("x9.nothing");
    }
}
