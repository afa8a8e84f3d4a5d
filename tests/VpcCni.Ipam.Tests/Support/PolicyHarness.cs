using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace VpcCni.Ipam.Tests.Support;

/// <summary>Applies a policy's decisions straight to a datastore (no cloud), to check converged pool shapes.</summary>
internal sealed class PolicyHarness
{
    private uint _nextAddress = 0x0A000100; // 10.0.1.0
    private int _nextDevice = 1;
    private DateTimeOffset? _lastDecrease;
    private int _pods;

    public PolicyHarness(IpamOptions options, PoolLimits limits, IPoolPolicy? policy = null)
    {
        Options = options;
        Limits = limits;
        Policy = policy ?? UpstreamPoolPolicy.Instance;
        Datastore = new PoolDatastore(0, options.EnablePrefixDelegation, TimeSpan.Zero, Time);
        Datastore.AddEni(new EniRegistration("eni-0", 0, true, 0, "subnet-a"));
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public PoolDatastore Datastore { get; }

    public IpamOptions Options { get; }

    public PoolLimits Limits { get; }

    public IPoolPolicy Policy { get; }

    public static PoolLimits T3Small => new(3, 4, 11);

    public static PoolLimits P3dn => new(15, 50, 737);

    public PolicyHarness WithPods(int count)
    {
        Converge();
        while (_pods < count)
        {
            var outcome = Datastore.Assign(new AttachmentKey("aws-cni", $"c{_pods}", "eth0"), new PodMetadata("default", $"p{_pods}"));
            outcome.Succeeded.Should().BeTrue($"pod {_pods} should find an address");
            _pods++;
            Converge();
        }

        return this;
    }

    public void Converge()
    {
        for (var i = 0; i < 200; i++)
        {
            var snapshot = new PoolSnapshot(Datastore.GetStats(), Datastore.GetEniStates(), Time.GetUtcNow()) { LastDecrease = _lastDecrease };
            var decision = Policy.Decide(snapshot, Limits, Options);
            if (decision.IsEmpty)
            {
                // Let throttles and the minimum ENI age pass once, then check again.
                Time.Advance(TimeSpan.FromSeconds(61));
                snapshot = new PoolSnapshot(Datastore.GetStats(), Datastore.GetEniStates(), Time.GetUtcNow()) { LastDecrease = _lastDecrease };
                if (Policy.Decide(snapshot, Limits, Options).IsEmpty)
                {
                    return;
                }

                continue;
            }

            foreach (var grow in decision.Grow)
            {
                var eniId = grow.EniId;
                if (eniId is null)
                {
                    eniId = $"eni-{_nextDevice}";
                    Datastore.AddEni(new EniRegistration(eniId, _nextDevice, false, _nextDevice + 1, "subnet-a"));
                    _nextDevice++;
                }

                for (var u = 0; u < grow.Units; u++)
                {
                    Datastore.AddCidr(eniId, NextCidr());
                }
            }

            foreach (var release in decision.Release)
            {
                foreach (var cidr in release.Cidrs)
                {
                    Datastore.RemoveCidr(release.EniId, cidr, force: false);
                }

                _lastDecrease = Time.GetUtcNow();
            }

            if (decision.DeleteEniId is { } id)
            {
                Datastore.RemoveEni(id, force: false);
            }
        }

        throw new InvalidOperationException("policy did not converge in 200 steps");
    }

    public IReadOnlyList<EniState> Enis => Datastore.GetEniStates();

    private IPNetwork NextCidr()
    {
        if (Options.EnablePrefixDelegation)
        {
            _nextAddress = (_nextAddress + 15) & ~15u;
            var prefix = new IPNetwork(new PodAddress(_nextAddress).ToIPAddress(), 28);
            _nextAddress += 16;
            return prefix;
        }

        return new IPNetwork(new PodAddress(_nextAddress++).ToIPAddress(), 32);
    }
}
