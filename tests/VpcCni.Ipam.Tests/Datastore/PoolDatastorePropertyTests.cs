using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace VpcCni.Ipam.Tests.Datastore;

/// <summary>Seeded random operation sequences; invariants checked after every step.</summary>
public sealed class PoolDatastorePropertyTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    public void RandomOperations_KeepInvariants(int seed, bool prefixMode)
    {
        var random = new Random(seed);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var ds = new PoolDatastore(0, prefixMode, TimeSpan.FromSeconds(30), time);
        var live = new Dictionary<AttachmentKey, PodAddress>();
        var cooling = new Dictionary<PodAddress, DateTimeOffset>();
        var enis = new List<string>();
        uint next = 0x0A100000;
        for (var step = 0; step < 3000; step++)
        {
            switch (random.Next(10))
            {
                case 0 when enis.Count < 6:
                    var id = $"eni-{enis.Count}";
                    ds.AddEni(new EniRegistration(id, enis.Count, enis.Count == 0, enis.Count, "s"));
                    enis.Add(id);
                    break;
                case 1 when enis.Count > 0:
                    var size = random.Next(2) == 0 ? 32 : 28;
                    next = size == 28 ? (next + 15) & ~15u : next;
                    ds.AddCidr(enis[random.Next(enis.Count)], new IPNetwork(new PodAddress(next).ToIPAddress(), size));
                    next += size == 28 ? 16u : 1u;
                    break;
                case 2:
                    time.Advance(TimeSpan.FromSeconds(random.Next(1, 20)));
                    break;
                case 3 or 4 or 5:
                    var key = new AttachmentKey("net", $"c{random.Next(60)}", "eth0");
                    var outcome = ds.Assign(key, PodMetadata.None);
                    if (live.TryGetValue(key, out var had))
                    {
                        outcome.Status.Should().Be(AssignStatus.AlreadyAssigned);
                        outcome.Address.Should().Be(had);
                    }
                    else if (outcome.Status == AssignStatus.Assigned)
                    {
                        live.Values.Should().NotContain(outcome.Address, "no address is assigned twice");
                        if (cooling.TryGetValue(outcome.Address, out var releasedAt))
                        {
                            (time.GetUtcNow() - releasedAt).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30), "cooldown is respected");
                        }

                        live[key] = outcome.Address;
                    }

                    break;
                default:
                    var k = new AttachmentKey("net", $"c{random.Next(60)}", "eth0");
                    var u = ds.Unassign(k);
                    if (live.Remove(k, out var addr))
                    {
                        u.Status.Should().Be(UnassignStatus.Released);
                        u.Address.Should().Be(addr);
                        cooling[addr] = time.GetUtcNow();
                    }
                    else
                    {
                        u.Status.Should().Be(UnassignStatus.Unknown);
                    }

                    break;
            }

            var stats = ds.GetStats();
            var states = ds.GetEniStates();
            stats.TotalIPs.Should().Be(states.Where(e => !e.IsExcluded).Sum(e => e.Addresses));
            stats.AssignedIPs.Should().Be(states.Sum(e => e.Assigned));
            stats.CoolingIPs.Should().Be(states.Sum(e => e.Cooling));
            (stats.AssignedIPs + stats.CoolingIPs).Should().BeLessThanOrEqualTo(stats.TotalIPs);
            ds.GetAllocations().Select(a => a.Address).Should().OnlyHaveUniqueItems();
            ds.GetAllocations().Should().HaveCount(live.Count);
        }
    }
}

public sealed class PoolDatastoreConcurrencyTests
{
    [Fact]
    public async Task ConcurrentAssignUnassign_NoAddressTwiceAndCountsAddUp()
    {
        var ds = new PoolDatastore(0, false, TimeSpan.Zero, TimeProvider.System);
        for (var e = 0; e < 4; e++)
        {
            ds.AddEni(new EniRegistration($"eni-{e}", e, e == 0, e, "s"));
            for (var i = 0; i < 20; i++)
            {
                ds.AddCidr($"eni-{e}", new System.Net.IPNetwork(new PodAddress((uint)(0x0A000000 + e * 256 + i)).ToIPAddress(), 32));
            }
        }

        var owners = new System.Collections.Concurrent.ConcurrentDictionary<uint, int>();
        var violations = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var round = 0; round < 2000; round++)
            {
                var key = new AttachmentKey("n", $"w{worker}-{round % 10}", "eth0");
                var r = ds.Assign(key, PodMetadata.None);
                if (r.Status == AssignStatus.Assigned)
                {
                    if (!owners.TryAdd(r.Address.Value, worker))
                    {
                        Interlocked.Increment(ref violations);
                    }

                    owners.TryRemove(r.Address.Value, out _);
                    ds.Unassign(key);
                }
            }
        })));

        violations.Should().Be(0);
        ds.GetStats().Should().Be(new PoolStats(80, 0, 0, 0, 0, 0));
    }
}
