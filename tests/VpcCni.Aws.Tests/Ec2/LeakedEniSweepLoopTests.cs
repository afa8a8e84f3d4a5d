using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Tests.Emulation;

namespace VpcCni.Aws.Tests.Ec2;

/// <summary>Upstream's schedule of the leaked-ENI job: a random 0–299 s wait, a sweep, an hour, again.</summary>
public sealed class LeakedEniSweepLoopTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static string AddLeakedEni(EmulatedCloud cloud, DateTimeOffset createdAt)
    {
        var node = cloud.Cluster.Nodes[0];
        return cloud.Vpc.CreateNetworkInterface(cloud.Cluster.Subnet.SubnetId, EniTags.DescriptionPrefix + node.InstanceId, null, 0, 0,
            new Dictionary<string, string>
            {
                [EniTags.InstanceId] = node.InstanceId,
                [EniTags.CreatedAt] = createdAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            }).NetworkInterfaceId;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string because)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }

        condition().Should().BeTrue(because);
    }

    private static (LeakedEniSweepLoop Loop, Ec2EniProvider Provider, Amazon.EC2.AmazonEC2Client Ec2) CreateLoop(
        EmulatedCloud cloud, FakeTimeProvider time, bool enabled)
    {
        var ec2 = cloud.CreateEc2Client();
        var options = new Ec2ProviderOptions { Ec2Endpoint = cloud.Endpoint, LeakedEniCleanup = enabled, RequestBudget = false };
        var provider = new Ec2EniProvider(ec2, cloud.CreateImds(), options, time);
        var loop = new LeakedEniSweepLoop(new LeakedEniSweeper(ec2, provider, options, time), options, time, random: new Random(7));
        return (loop, provider, ec2);
    }

    [Fact]
    public async Task RunAsync_AfterTheJitter_DeletesAnOldLeakedEniThenSweepsHourly()
    {
        var time = new FakeTimeProvider(Start);
        await using var cloud = await EmulatedCloud.StartAsync();
        var (loop, provider, ec2) = CreateLoop(cloud, time, enabled: true);
        using var _ = provider;
        using var __ = ec2;
        var leaked = AddLeakedEni(cloud, Start - TimeSpan.FromMinutes(10));
        var young = AddLeakedEni(cloud, Start + TimeSpan.FromMinutes(2));
        using var stop = new CancellationTokenSource();

        var run = loop.RunAsync(stop.Token);
        await Task.Delay(50, Ct);
        var beforeJitter = loop.CompletedSweeps;
        time.Advance(TimeSpan.FromSeconds(300));
        await WaitUntilAsync(() => loop.CompletedSweeps == 1, "one sweep runs within 300 s of the start");
        var afterFirst = cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).ToList();
        time.Advance(TimeSpan.FromMinutes(30));
        await Task.Delay(50, Ct);
        var halfAnHourLater = loop.CompletedSweeps;
        time.Advance(TimeSpan.FromMinutes(30));
        await Task.Delay(50, Ct);
        time.Advance(TimeSpan.FromSeconds(300));
        await WaitUntilAsync(() => loop.CompletedSweeps == 2, "the next sweep follows an hour (plus jitter) later");
        await stop.CancelAsync();
        await run;

        beforeJitter.Should().Be(0, "each run first waits its jitter");
        afterFirst.Should().NotContain(leaked, "an available CNI ENI older than 5 minutes is deleted").And.Contain(young);
        halfAnHourLater.Should().Be(1);
        cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).Should().NotContain(young, "by the second sweep it is old enough");
    }

    [Fact]
    public async Task RunAsync_Disabled_DoesNothing()
    {
        var time = new FakeTimeProvider(Start);
        await using var cloud = await EmulatedCloud.StartAsync();
        var (loop, provider, ec2) = CreateLoop(cloud, time, enabled: false);
        using var _ = provider;
        using var __ = ec2;
        var leaked = AddLeakedEni(cloud, Start - TimeSpan.FromHours(2));
        cloud.Vpc.Requests.ResetCounts();

        var run = loop.RunAsync(Ct);
        time.Advance(TimeSpan.FromHours(3));
        await Task.Delay(100, Ct);

        run.IsCompletedSuccessfully.Should().BeTrue();
        loop.CompletedSweeps.Should().Be(0);
        cloud.Vpc.NetworkInterfaces.Select(e => e.NetworkInterfaceId).Should().Contain(leaked);
        cloud.Vpc.Requests.TotalCount.Should().Be(0);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("false", true)]
    [InlineData("true", false)]
    public void FromEnvironment_DisableLeakedEniCleanup_Binds(string? value, bool enabled)
    {
        var options = Ec2ProviderOptions.FromEnvironment(name => name == "DISABLE_LEAKED_ENI_CLEANUP" ? value : null);

        options.LeakedEniCleanup.Should().Be(enabled);
    }

    [Fact]
    public void FromEnvironment_DisableLeakedEniCleanupNotABool_ErrorNamesTheVariable()
    {
        var act = () => Ec2ProviderOptions.FromEnvironment(name => name == "DISABLE_LEAKED_ENI_CLEANUP" ? "yes" : null);

        act.Should().Throw<ArgumentException>().WithMessage("*DISABLE_LEAKED_ENI_CLEANUP*");
    }
}
