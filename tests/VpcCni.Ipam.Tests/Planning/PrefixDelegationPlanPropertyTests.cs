using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Planning;

/// <summary>
/// Seeded random prefix-delegation setups (instance shape, targets, max pods, custom networking, pods) through the
/// planner: every pod that has room is placed, the reason names what stopped the rest, the converged pool meets the
/// targets unless max pods or the ENIs stop it, never holds more than it must, and stays within one prefix of max pods.
/// </summary>
public sealed class PrefixDelegationPlanPropertyTests
{
    private const int Prefix = 16;

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 60; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Plan_RandomPrefixDelegationSetup_PlacesWhatFitsAndMeetsTargetsWithinMaxPods(int seed)
    {
        var random = new Random(seed);
        var customNetworking = random.Next(4) == 0;
        var limits = new InstanceLimits($"x{seed}.random", random.Next(customNetworking ? 2 : 1, 9), random.Next(2, 31));
        var warmPrefix = 0;
        int warmIp = 0, minIp = 0;
        if (random.Next(2) == 0)
        {
            warmPrefix = random.Next(1, 5);
        }
        else
        {
            warmIp = random.Next(0, 21);
            minIp = random.Next(warmIp == 0 ? 1 : 0, 61);
            warmPrefix = random.Next(0, 3); // ignored once an IP target is set
        }

        int? maxPods = random.Next(3) == 0 ? null : random.Next(1, 301);
        var pods = random.Next(0, 251);
        var options = new IpamOptions
        {
            EnablePrefixDelegation = true,
            WarmPrefixTarget = warmPrefix,
            WarmIpTarget = warmIp,
            MinimumIpTarget = minIp,
            UseCustomNetworking = customNetworking,
            MaxPods = maxPods,
        };
        var because = $"seed {seed}: {limits.MaxEnis} ENIs × {limits.IPv4PerEni} IPv4, CN {customNetworking}, WPT {warmPrefix}, WIP {warmIp}, MIP {minIp}, max pods {maxPods?.ToString() ?? "default"}, {pods} pods";

        var plan = PoolPlanner.Plan(limits, options, pods);

        var effectiveMax = maxPods ?? MaxPodsCalculator.Default(limits, prefixDelegation: true, customNetworking);
        var capacity = MaxPodsCalculator.AddressCapacity(limits, new MaxPodsOptions(PrefixDelegation: true, CustomNetworking: customNetworking));
        plan.MaxPods.Should().Be(effectiveMax, because);
        plan.RequestedPods.Should().Be(pods, because);

        // Never leaves a pod unplaced while there is room; says what stopped the others.
        var placed = Math.Min(pods, Math.Min(effectiveMax, capacity));
        plan.PlacedPods.Should().Be(placed, because);
        plan.AssignedIps.Should().Be(placed, because);
        if (placed == pods)
        {
            plan.UnplacedReason.Should().BeNull(because);
        }
        else
        {
            plan.UnplacedReason.Should().StartWith(placed == effectiveMax ? "max pods" : "ENI limit", because);
        }

        // Within one prefix's rounding of max pods; never past what the ENIs hold.
        plan.TotalIps.Should().Be(plan.Prefixes * Prefix, because);
        plan.TotalIps.Should().BeLessThanOrEqualTo(RoundUp(effectiveMax), because).And.BeLessThanOrEqualTo(capacity, because);
        plan.PrefixesPerEni.Max().Should().BeLessThanOrEqualTo(limits.IPv4PerEni - 1, because);

        // The targets hold unless max pods or the ENIs stopped the growth.
        var available = plan.TotalIps - placed;
        var ipTargets = warmIp != 0 || minIp != 0;
        if (plan.TotalIps < effectiveMax && plan.TotalIps < capacity)
        {
            if (ipTargets)
            {
                available.Should().BeGreaterThanOrEqualTo(warmIp, because);
                plan.TotalIps.Should().BeGreaterThanOrEqualTo(minIp, because);
            }
            else
            {
                available.Should().BeGreaterThanOrEqualTo(Prefix * warmPrefix, because);
            }
        }

        // Not more than the targets need (pods fill prefixes in order, so the busy prefixes are ceil(placed / 16)).
        var busy = CeilDiv(placed, Prefix);
        var most = ipTargets
            ? Math.Max(busy, Math.Max(CeilDiv(placed + warmIp, Prefix), CeilDiv(minIp, Prefix)))
            : busy + warmPrefix;
        plan.Prefixes.Should().BeLessThanOrEqualTo(Math.Max(most, 0), because);
    }

    private static int CeilDiv(int value, int divisor) => value <= 0 ? 0 : (value + divisor - 1) / divisor;

    private static int RoundUp(int value) => CeilDiv(value, Prefix) * Prefix;
}
