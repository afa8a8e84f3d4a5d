using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>Prefix delegation on a subnet fragmented into unusable /28s: /32 fallback, probe, and return.</summary>
public sealed class PrefixFallbackTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private static readonly InstanceLimits M5FourXLarge = new("m5.4xlarge", 8, 30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static AttachmentKey Key(int i) => new("aws-cni", $"c{i}", "eth0");

    private static IpamOptions Pd(int warmPrefixTarget = 1) => new() { EnablePrefixDelegation = true, WarmPrefixTarget = warmPrefixTarget, IpCooldownPeriod = TimeSpan.Zero };

    private PoolController Controller(IEniProvider cloud, IpamOptions options) => new(cloud, options, _time, null, null, null, 0, inlineSignals: true);

    private static int Slash32s(InMemoryPlanningCloud cloud, string eniId) => cloud.CidrsOf(eniId).Count(c => c.PrefixLength == 32);

    private static int Prefixes(InMemoryPlanningCloud cloud, string eniId) => cloud.CidrsOf(eniId).Count(c => c.PrefixLength == 28);

    [Fact]
    public async Task Initialize_PdOnFragmentedSubnet_GrowsWithSlash32sAndServesAdds()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        cloud.Fragment();
        using var c = Controller(cloud, Pd());

        await c.InitializeAsync(CancellationToken.None);

        c.Datastore.GetStats().TotalIPs.Should().Be(18, "two ENIs of 9 /32s each stand in for the /28 that no block could give");
        c.Datastore.GetStats().TotalPrefixes.Should().Be(0);
        c.PrefixFallback.Should().Be(new PrefixFallbackStats(EnisInFallback: 2, Fallbacks: 2, Returns: 0));
        c.Datastore.GetEniStates().Should().OnlyContain(e => e.AddressFallback && e.FallbackAddresses == 9 && e.FreeableCidrs.Count == 0);
        for (var i = 0; i < 10; i++)
        {
            (await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None)).Succeeded.Should().BeTrue();
        }

        c.Datastore.GetStats().AssignedIPs.Should().Be(10);
    }

    [Fact]
    public async Task Grow_InFallbackBeforeTheProbeIsDue_AssignsSlash32sWithoutAskingForAPrefix()
    {
        var cloud = new InMemoryPlanningCloud(M5FourXLarge);
        cloud.Fragment();
        using var c = Controller(cloud, Pd());
        await c.InitializeAsync(CancellationToken.None);
        Slash32s(cloud, "eni-primary").Should().Be(16, "one prefix's worth of /32s");
        var assignsBefore = cloud.Calls["Assign"];

        for (var i = 0; i < 8; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        await c.RunPoolRoundAsync(CancellationToken.None);

        Slash32s(cloud, "eni-primary").Should().Be(29);
        cloud.Calls["Assign"].Should().Be(assignsBefore + 1, "within the backoff interval the refused prefix request is not repeated");
    }

    [Fact]
    public async Task Grow_ProbeDueAndBlocksFreeAgain_ReturnsToPrefixesAndReleasesFreeSlash32s()
    {
        var cloud = new InMemoryPlanningCloud(M5FourXLarge);
        var defragment = cloud.Fragment();
        using var c = Controller(cloud, Pd());
        await c.InitializeAsync(CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        Prefixes(cloud, "eni-primary").Should().Be(0);
        defragment();
        _time.Advance(TimeSpan.FromSeconds(121));

        // 6 free of 16: below WARM_PREFIX_TARGET's 16, the top-up is the probe.
        await c.RunPoolRoundAsync(CancellationToken.None);

        Prefixes(cloud, "eni-primary").Should().BeGreaterThan(0, "the probe got a /28");
        c.PrefixFallback.Should().Be(new PrefixFallbackStats(EnisInFallback: 0, Fallbacks: 1, Returns: 1));
        Slash32s(cloud, "eni-primary").Should().Be(10, "the 6 free /32s went back; the 10 in use stay until their pods leave");
        var eni = c.Datastore.GetEniStates().Single();
        eni.AddressFallback.Should().BeFalse();
        c.Datastore.GetStats().TotalIPs.Should().Be(16 * eni.Cidrs, "only prefixes serve new pods again");
        (await c.AssignAsync(Key(10), PodMetadata.None, CancellationToken.None)).Address.ToIPAddress().Should()
            .Match<System.Net.IPAddress>(a => cloud.CidrsOf("eni-primary").Any(p => p.PrefixLength == 28 && p.Contains(a)));

        // Once their pods leave, the reconcile gives the remaining /32s back.
        for (var i = 0; i < 11; i++)
        {
            await c.UnassignAsync(Key(i), CancellationToken.None);
        }

        await c.ReconcileWithCloudAsync(CancellationToken.None);
        Slash32s(cloud, "eni-primary").Should().Be(0);
    }

    [Fact]
    public async Task Grow_NewEniGetsAPrefixInTheSubnet_FullFallbackEnisReturnToo()
    {
        var cloud = new InMemoryPlanningCloud(M5Large);
        var defragment = cloud.Fragment();
        using var c = Controller(cloud, Pd());
        await c.InitializeAsync(CancellationToken.None);
        c.PrefixFallback.EnisInFallback.Should().Be(2);
        for (var i = 0; i < 3; i++)
        {
            await c.AssignAsync(Key(i), PodMetadata.None, CancellationToken.None);
        }

        defragment();
        _time.Advance(TimeSpan.FromSeconds(121));
        await c.RunPoolRoundAsync(CancellationToken.None);

        // Both ENIs were full of /32s, so a new ENI was created, with a prefix: the subnet's fallback ENIs returned, the
        // second one (no pods left on it) was deleted.
        cloud.Calls["CreateAndAttachEni"].Should().Be(3);
        c.Datastore.GetStats().TotalPrefixes.Should().Be(1);
        c.PrefixFallback.Should().Be(new PrefixFallbackStats(EnisInFallback: 0, Fallbacks: 2, Returns: 2));
        c.Datastore.GetEniStates().Should().OnlyContain(e => !e.AddressFallback && e.FallbackAddresses == 0);
        (await c.DescribeSlash32sAsync(cloud)).Should().Be(3, "only the /32s pods still use remain on the ENIs");
    }

    [Fact]
    public async Task Grow_FragmentedAndSubnetOutOfAddresses_FailsWithSubnetFullAndBacksOff()
    {
        var cloud = new InMemoryPlanningCloud(M5Large, subnetFreeAddresses: 0);
        using var c = Controller(cloud, Pd());
        await c.InitializeAsync(CancellationToken.None);

        c.Decide().Blocked.Should().Be(GrowthBlock.CapacityBackoff);
        c.PrefixFallback.EnisInFallback.Should().Be(1, "the primary ENI could get no prefix");
        (await c.AssignAsync(Key(1), PodMetadata.None, CancellationToken.None)).Failure.Should().Be(AssignFailureReason.SubnetFull);
    }

    [Fact]
    public async Task Restart_FallbackEniWithPods_FreeSlash32sReleasedAndFallbackRelearned()
    {
        var cloud = new InMemoryPlanningCloud(M5FourXLarge);
        cloud.Fragment();
        using (var first = Controller(cloud, Pd()))
        {
            await first.InitializeAsync(CancellationToken.None);
            Slash32s(cloud, "eni-primary").Should().Be(16);
        }

        using var second = Controller(cloud, Pd());
        await second.InitializeAsync(CancellationToken.None);

        // Upstream's step 12 returned the 16 free /32s; the first growth asked for a prefix, was refused, and fell back again.
        second.PrefixFallback.Should().Be(new PrefixFallbackStats(EnisInFallback: 1, Fallbacks: 1, Returns: 0));
        second.Datastore.GetStats().TotalIPs.Should().Be(16);
        Slash32s(cloud, "eni-primary").Should().Be(16);
    }
}

internal static class PrefixFallbackTestExtensions
{
    public static ValueTask<int> DescribeSlash32sAsync(this PoolController controller, InMemoryPlanningCloud cloud) =>
        ValueTask.FromResult(controller.Datastore.GetEniIds().Sum(id => cloud.CidrsOf(id).Count(c => c.PrefixLength == 32)));
}
