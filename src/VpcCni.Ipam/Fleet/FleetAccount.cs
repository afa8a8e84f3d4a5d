using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>
/// One simulated AWS account and Region: EC2's request token buckets, shared by every node of the fleet. Each request
/// takes one token; an empty bucket answers RequestLimitExceeded and takes none (AWS's EC2 throttling page, field survey
/// §3.1). Counts requests and throttling answers per second for the report's chart.
/// </summary>
internal sealed class FleetAccount
{
    /// <summary>Describe* with filters or pagination (DescribeNetworkInterfaces by instance): 100 tokens, 20/s.</summary>
    public static readonly RequestBucketLimit NonMutating = new("NonMutating", 100, 20);

    /// <summary>Default mutating bucket (AttachNetworkInterface, DetachNetworkInterface): 50 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Mutating = new("Mutating", 50, 5);

    /// <summary>CreateNetworkInterface: 100 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Create = new("CreateNetworkInterface", 100, 5);

    /// <summary>DeleteNetworkInterface: 100 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Delete = new("DeleteNetworkInterface", 100, 5);

    /// <summary>ModifyNetworkInterfaceAttribute (DeleteOnTermination after attach): 100 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Modify = new("ModifyNetworkInterfaceAttribute", 100, 5);

    /// <summary>AssignPrivateIpAddresses: 100 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Assign = new("AssignPrivateIpAddresses", 100, 5);

    /// <summary>UnassignPrivateIpAddresses: 100 tokens, 5/s.</summary>
    public static readonly RequestBucketLimit Unassign = new("UnassignPrivateIpAddresses", 100, 5);

    /// <summary>Every bucket the ENI lifecycle draws from.</summary>
    public static IReadOnlyList<RequestBucketLimit> Buckets { get; } = [NonMutating, Mutating, Create, Delete, Modify, Assign, Unassign];

    private readonly TimeProvider _time;
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Dictionary<long, (int Calls, int Throttled)> _perSecond = [];
    private readonly DateTimeOffset _start;

    public FleetAccount(TimeProvider time, double capacityScale = 1)
    {
        _time = time;
        _start = time.GetUtcNow();
        foreach (var b in Buckets)
        {
            _buckets[b.Name] = new Bucket(b.Capacity * capacityScale, b.RefillPerSecond, b.Capacity * capacityScale, time.GetTimestamp());
        }
    }

    /// <summary>Requests answered (every attempt).</summary>
    public long Calls { get; private set; }

    /// <summary>RequestLimitExceeded answers.</summary>
    public long Throttled { get; private set; }

    /// <summary>Requests and throttling answers per whole second since the account was made.</summary>
    public IReadOnlyDictionary<long, (int Calls, int Throttled)> PerSecond => _perSecond;

    /// <summary>A request arrives: true when the bucket had a token (taken), false for RequestLimitExceeded.</summary>
    public bool TryTake(string bucket)
    {
        var b = _buckets[bucket];
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(b.RefilledAt, now).TotalSeconds;
        b.Tokens = Math.Min(b.Capacity, b.Tokens + (elapsed * b.Refill));
        b.RefilledAt = now;
        var second = (long)(_time.GetUtcNow() - _start).TotalSeconds;
        var (calls, throttled) = _perSecond.GetValueOrDefault(second);
        Calls++;
        if (b.Tokens >= 1)
        {
            b.Tokens -= 1;
            b.Accepted++;

            _perSecond[second] = (calls + 1, throttled);
            return true;
        }

        Throttled++;
        b.Rejected++;
        _perSecond[second] = (calls + 1, throttled + 1);
        return false;
    }

    private sealed class Bucket(double capacity, double refill, double tokens, long now)
    {
        public double Capacity { get; } = capacity;

        public double Refill { get; } = refill;

        public double Tokens { get; set; } = tokens;

        public long RefilledAt { get; set; } = now;

        public long Accepted { get; set; }

        public long Rejected { get; set; }
    }

    /// <summary>Accepted and throttled requests per bucket (diagnostics).</summary>
    public string Describe() => string.Join(", ", _buckets.Select(b => $"{b.Key} {b.Value.Accepted}/{b.Value.Rejected}"));
}
