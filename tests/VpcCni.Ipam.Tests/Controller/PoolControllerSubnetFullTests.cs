using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>Upstream §2.7's subnet-full handling: a refused top-up falls through to a new ENI with subnet discovery on, and backs off without.</summary>
public sealed class PoolControllerSubnetFullTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private async Task<(PoolController Controller, InMemoryPlanningCloud Cloud)> StartAsync(bool subnetDiscovery)
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var c = new PoolController(cloud, new IpamOptions { WarmIpTarget = 3, EnableSubnetDiscovery = subnetDiscovery }, _time, null, null, null, 0, inlineSignals: true);
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.GetStats().TotalIPs.Should().Be(3);
        return (c, cloud);
    }

    [Fact]
    public async Task Grow_TopUpRefusedSubnetFullWithDiscovery_FallsThroughToANewEni()
    {
        var (c, cloud) = await StartAsync(subnetDiscovery: true);
        using var _ = c;
        cloud.FaultInjector = op => op == "Assign" ? new CloudException(CloudErrorKind.SubnetFull, "subnet-a is full", "InsufficientFreeAddressesInSubnet") : null;

        await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        await c.RunPoolRoundAsync(CancellationToken.None);

        c.Datastore.EniCount.Should().Be(2, "the provider may create the new ENI in another subnet");
        cloud.Calls["Assign"].Should().Be(2, "the init top-up, then the refused one");
        c.Decide().Blocked.Should().NotBe(GrowthBlock.CapacityBackoff);
    }

    [Fact]
    public async Task Grow_TopUpRefusedSubnetFullWithoutDiscovery_BacksOffWithoutANewEni()
    {
        var (c, cloud) = await StartAsync(subnetDiscovery: false);
        using var _ = c;
        cloud.FaultInjector = op => op == "Assign" ? new CloudException(CloudErrorKind.SubnetFull, "subnet-a is full", "InsufficientFreeAddressesInSubnet") : null;

        await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        await c.RunPoolRoundAsync(CancellationToken.None);

        c.Datastore.EniCount.Should().Be(1);
        cloud.Calls.Should().NotContainKey("CreateAndAttachEni");
        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff);
    }

    [Fact]
    public async Task Grow_EverythingRefusedWithDiscovery_BacksOffWithTheFirstReason()
    {
        var (c, cloud) = await StartAsync(subnetDiscovery: true);
        using var _ = c;
        cloud.FaultInjector = op => op is "Assign" or "CreateAndAttachEni" ? new CloudException(CloudErrorKind.SubnetFull, "every subnet is full", "InsufficientFreeAddressesInSubnet") : null;

        await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None);
        await c.RunPoolRoundAsync(CancellationToken.None);

        c.Datastore.EniCount.Should().Be(1);
        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff);
    }
}
