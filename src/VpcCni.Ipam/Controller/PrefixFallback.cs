using System.Collections.Concurrent;

namespace VpcCni.Ipam;

/// <summary>What the /32 fallback of prefix delegation is doing right now (for metrics and introspection).</summary>
/// <param name="EnisInFallback">ENIs that grow with /32 addresses because their subnet had no free /28.</param>
/// <param name="Fallbacks">Times an ENI went to /32 addresses (InsufficientCidrBlocks) since start.</param>
/// <param name="Returns">Times an ENI got a /28 prefix again and left the fallback since start.</param>
public readonly record struct PrefixFallbackStats(int EnisInFallback, long Fallbacks, long Returns);

/// <summary>
/// Prefix delegation's live answer to /28 fragmentation (InsufficientCidrBlocks): the ENI that could get no prefix
/// grows with secondary /32 addresses instead, so pods keep getting addresses; once per
/// <see cref="IpamOptions.InsufficientCapacityBackoff"/> its next growth tries a prefix again, and when one is
/// granted the ENI returns to prefixes (never "PD stays off"), and so do the other ENIs of its subnet in fallback
/// (the subnet has free /28s again; an ENI whose slots are all /32s could never probe by itself). The datastore flag (<see cref="PoolDatastore.SetAddressFallback"/>)
/// makes the ENI's /32s usable while it is in fallback.
/// </summary>
internal sealed class PrefixFallback(TimeProvider time, TimeSpan probeInterval)
{
    private readonly ConcurrentDictionary<string, (string? SubnetId, DateTimeOffset NextProbe)> _nextProbe = new(StringComparer.Ordinal);
    private long _fallbacks;
    private long _returns;

    public bool IsInFallback(string eniId) => _nextProbe.ContainsKey(eniId);

    /// <summary>True when the ENI is in fallback and it is time to try a prefix again.</summary>
    public bool ProbeDue(string eniId) => _nextProbe.TryGetValue(eniId, out var entry) && time.GetUtcNow() >= entry.NextProbe;

    /// <summary>ENIs in fallback in <paramref name="subnetId"/>.</summary>
    public IReadOnlyList<string> InSubnet(string? subnetId) =>
        [.. _nextProbe.Where(e => string.Equals(e.Value.SubnetId, subnetId, StringComparison.Ordinal)).Select(e => e.Key)];

    /// <summary>The ENI could get no prefix: it grows with /32s until the next probe. Returns true when it was not in fallback before.</summary>
    public bool Enter(string eniId, string? subnetId)
    {
        var entered = false;
        var next = time.GetUtcNow() + probeInterval;
        _nextProbe.AddOrUpdate(eniId, _ => { entered = true; return (subnetId, next); }, (_, _) => (subnetId, next));
        if (entered)
        {
            Interlocked.Increment(ref _fallbacks);
        }

        return entered;
    }

    /// <summary>The ENI got a prefix again. Returns true when it was in fallback.</summary>
    public bool Return(string eniId)
    {
        if (!_nextProbe.TryRemove(eniId, out _))
        {
            return false;
        }

        Interlocked.Increment(ref _returns);
        return true;
    }

    /// <summary>The ENI left the pool (deleted or detached).</summary>
    public void Forget(string eniId) => _nextProbe.TryRemove(eniId, out _);

    public PrefixFallbackStats Stats => new(_nextProbe.Count, Interlocked.Read(ref _fallbacks), Interlocked.Read(ref _returns));
}
