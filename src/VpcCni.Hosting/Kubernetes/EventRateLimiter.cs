namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// At most one event per (pod, cause) per interval: a pod whose sandbox the runtime retries every few seconds must not
/// flood the API server (or the pod's event list) with the same failure.
/// </summary>
internal sealed class EventRateLimiter(TimeSpan interval, TimeProvider timeProvider, int maxTracked = 4096)
{
    private readonly Dictionary<(string Namespace, string Name, string Cause), DateTimeOffset> _last = [];
    private readonly Lock _lock = new();

    /// <summary>True (and the send is counted) when no event of this pod and cause was let through within the interval.</summary>
    public bool TryAcquire(string podNamespace, string podName, string cause)
    {
        var now = timeProvider.GetUtcNow();
        var key = (podNamespace, podName, cause);
        lock (_lock)
        {
            if (_last.TryGetValue(key, out var last) && now - last < interval)
            {
                return false;
            }

            if (_last.Count >= maxTracked)
            {
                // Forget what has expired; if everything is recent, forget everything rather than grow without bound.
                foreach (var stale in _last.Where(p => now - p.Value >= interval).Select(p => p.Key).ToList())
                {
                    _last.Remove(stale);
                }

                if (_last.Count >= maxTracked)
                {
                    _last.Clear();
                }
            }

            _last[key] = now;
            return true;
        }
    }
}
