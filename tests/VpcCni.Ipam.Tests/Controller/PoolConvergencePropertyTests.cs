using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

/// <summary>Seeded random ADD/DEL sequences through the controller for every policy: no address twice, stats add up, the pool converges once churn stops.</summary>
public sealed class PoolConvergencePropertyTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var policy in new[] { "warm-eni", "warm-ip", "warm-prefix", "pd-warm-ip", "demand" })
        {
            foreach (var seed in new[] { 11, 42 })
            {
                data.Add(policy, seed);
            }
        }

        return data;
    }

    private static IpamOptions OptionsFor(string policy) => policy switch
    {
        "warm-eni" => new IpamOptions(),
        "warm-ip" => new IpamOptions { WarmIpTarget = 3, MinimumIpTarget = 10 },
        "warm-prefix" => new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 },
        "pd-warm-ip" => new IpamOptions { EnablePrefixDelegation = true, WarmIpTarget = 5, MinimumIpTarget = 20 },
        _ => new IpamOptions { PoolPolicy = PoolPolicyKind.DemandAware },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task RandomChurn_ThenQuiet_PoolConvergesAndStaysConsistent(string policy, int seed)
    {
        var random = new Random(seed);
        var clock = new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cloud = new InMemoryPlanningCloud(new InstanceLimits("m5.xlarge", 4, 15));
        using var c = new PoolController(cloud, OptionsFor(policy), clock, null, null, null, 0, inlineSignals: true);
        await c.InitializeAsync(CancellationToken.None);
        var live = new Dictionary<int, PodAddress>();
        for (var step = 0; step < 400; step++)
        {
            var id = random.Next(80);
            if (random.Next(3) > 0 && !live.ContainsKey(id))
            {
                var r = await c.AssignAsync(new AttachmentKey("n", $"c{id}", "eth0"), PodMetadata.None, CancellationToken.None);
                if (r.Succeeded)
                {
                    live.Values.Should().NotContain(r.Address);
                    live[id] = r.Address;
                }
            }
            else if (live.Remove(id))
            {
                (await c.UnassignAsync(new AttachmentKey("n", $"c{id}", "eth0"), CancellationToken.None)).Known.Should().BeTrue();
            }

            clock.Advance(TimeSpan.FromSeconds(random.Next(0, 4)));
            if (step % 5 == 0)
            {
                await c.RunPoolRoundAsync(CancellationToken.None);
            }

            var stats = c.Datastore.GetStats();
            stats.AssignedIPs.Should().Be(live.Count);
            (stats.AssignedIPs + stats.CoolingIPs).Should().BeLessThanOrEqualTo(stats.TotalIPs);
        }

        // Quiet: time passes (throttles, ENI age, cooldown) and rounds run; the policy must end up wanting nothing.
        var converged = false;
        for (var i = 0; i < 30 && !converged; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(61));
            await c.RunPoolRoundAsync(CancellationToken.None);
            converged = c.Decide().IsEmpty;
        }

        converged.Should().BeTrue($"{policy} converges");
        var final = c.Datastore.GetStats();
        final.AssignedIPs.Should().Be(live.Count);
        c.Datastore.GetAllocations().Select(a => a.Address).Should().OnlyHaveUniqueItems();
        var enis = await cloud.DescribeInstanceEnisAsync(CancellationToken.None);
        var cloudAddresses = enis.Sum(e => e.SecondaryIPv4.Count + e.IPv4Prefixes.Count * 16);
        cloudAddresses.Should().BeGreaterThanOrEqualTo(final.TotalIPs, "the datastore never holds an address the cloud does not list");
    }
}
