using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class PoolControllerPolicyTests
{
    private static readonly InstanceLimits M5Large = new("m5.large", 3, 10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Initialize_CustomPolicy_IsConsultedInsteadOfTheOptionsChoice()
    {
        var policy = new HoldStillPolicy();
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions { PoolPolicy = PoolPolicyKind.Upstream }, _time, policy: policy);

        await c.InitializeAsync(CancellationToken.None);

        policy.Calls.Should().BePositive();
        policy.LastLimits!.MaxPods.Should().Be(29);
        c.Datastore.GetStats().TotalIPs.Should().Be(0, "the custom policy asked for nothing, where the upstream policy fills the primary ENI");
        c.Decide().Should().BeSameAs(policy.Decision);
    }

    [Fact]
    public async Task SetMaxPodsOverride_BeforeInitialize_AppliesFromTheStart()
    {
        var policy = new HoldStillPolicy();
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions { MaxPods = 50 }, _time, policy: policy);

        c.SetMaxPodsOverride(17);
        await c.InitializeAsync(CancellationToken.None);

        c.Limits.MaxPods.Should().Be(17, "the node's pod capacity wins over the options and the instance type");
        policy.LastLimits!.MaxPods.Should().Be(17);
    }

    [Fact]
    public async Task SetMaxPodsOverride_AfterInitialize_ChangesTheLimitsAndNullRestoresTheBase()
    {
        var policy = new HoldStillPolicy();
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions(), _time, policy: policy);
        await c.InitializeAsync(CancellationToken.None);

        c.SetMaxPodsOverride(8);
        c.Limits.MaxPods.Should().Be(8);
        c.Decide();
        policy.LastLimits!.MaxPods.Should().Be(8, "the next decision sees the override");

        c.SetMaxPodsOverride(null);
        c.Limits.MaxPods.Should().Be(29, "m5.large's eni-max-pods value");
    }

    [Fact]
    public void SetMaxPodsOverride_BelowOne_Throws()
    {
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions(), _time);

        c.Invoking(x => x.SetMaxPodsOverride(0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task RunPoolRound_CustomPolicyGrows_TheControllerCarriesItOut()
    {
        var policy = new GrowOncePolicy(units: 2);
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions(), _time, policy: policy);

        await c.InitializeAsync(CancellationToken.None);

        c.Datastore.GetStats().TotalIPs.Should().Be(2);
        c.Datastore.EniCount.Should().Be(1);
    }

    [Fact]
    public async Task Initialize_NoPolicyGiven_OptionsChooseAsBefore()
    {
        using var c = new PoolController(new InMemoryPlanningCloud(M5Large), new IpamOptions(), _time, policy: null);
        await c.InitializeAsync(CancellationToken.None);
        c.Datastore.GetStats().TotalIPs.Should().Be(9);
    }

    private sealed class HoldStillPolicy : IPoolPolicy
    {
        public PoolDecision Decision { get; } = new() { Blocked = GrowthBlock.None };

        public int Calls { get; private set; }

        public PoolLimits? LastLimits { get; private set; }

        public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
        {
            Calls++;
            LastLimits = limits;
            return Decision;
        }
    }

    private sealed class GrowOncePolicy(int units) : IPoolPolicy
    {
        private bool _grown;

        public PoolDecision Decide(PoolSnapshot snapshot, PoolLimits limits, IpamOptions options)
        {
            if (_grown)
            {
                return PoolDecision.None;
            }

            _grown = true;
            return new PoolDecision { Grow = [new GrowAction(snapshot.Enis.Single(e => e.IsPrimary).Id, units)] };
        }
    }
}
