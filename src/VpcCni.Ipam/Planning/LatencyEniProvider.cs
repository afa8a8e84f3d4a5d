using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>Per-call latencies of the cloud (defaults: typical EC2 figures including IMDS/attach propagation).</summary>
public sealed record CloudLatencies
{
    public TimeSpan Describe { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>CreateNetworkInterface + AttachNetworkInterface + attach propagation (upstream docs: "up to 10 s").</summary>
    public TimeSpan CreateAndAttach { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>AssignPrivateIpAddresses + IMDS propagation.</summary>
    public TimeSpan Assign { get; init; } = TimeSpan.FromSeconds(1.5);

    public TimeSpan Unassign { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan DetachAndDelete { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>No latency at all.</summary>
    public static CloudLatencies Zero { get; } = new()
    {
        Describe = TimeSpan.Zero,
        CreateAndAttach = TimeSpan.Zero,
        Assign = TimeSpan.Zero,
        Unassign = TimeSpan.Zero,
        DetachAndDelete = TimeSpan.Zero,
    };
}

/// <summary>
/// Wraps any <see cref="IEniProvider"/>, delaying each call on the given clock and counting calls, so the
/// controller can be replayed on a virtual clock with realistic latencies. Also records the peak number of
/// concurrent mutating calls per ENI (the controller promises at most one). Delays complete inline on the thread that
/// fires the timer, so a fake clock's <c>Advance</c> runs the whole replay deterministically.
/// </summary>
internal sealed class LatencyEniProvider(IEniProvider inner, TimeProvider time, CloudLatencies latencies) : IEniProvider
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private long _mutatingCalls;
    private long _describeCalls;

    /// <summary>Create/assign/unassign/delete calls made.</summary>
    public long MutatingCalls => Interlocked.Read(ref _mutatingCalls);

    /// <summary>Describe calls made.</summary>
    public long DescribeCalls => Interlocked.Read(ref _describeCalls);

    /// <summary>The most mutating calls ever in flight at once on one ENI.</summary>
    public int PeakConcurrentCallsPerEni { get; private set; }

    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

    public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _describeCalls);
        await DelayAsync(latencies.Describe, cancellationToken).ConfigureAwait(false);
        return await inner.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _mutatingCalls);
        await DelayAsync(latencies.CreateAndAttach, cancellationToken).ConfigureAwait(false);
        return await inner.CreateAndAttachEniAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _mutatingCalls);
        Enter(eniId);
        try
        {
            await DelayAsync(latencies.Assign, cancellationToken).ConfigureAwait(false);
            return await inner.AssignAsync(eniId, unit, count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Exit(eniId);
        }
    }

    public async ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _mutatingCalls);
        Enter(eniId);
        try
        {
            await DelayAsync(latencies.Unassign, cancellationToken).ConfigureAwait(false);
            await inner.UnassignAsync(eniId, cidrs, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Exit(eniId);
        }
    }

    public async ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _mutatingCalls);
        Enter(eniId);
        try
        {
            await DelayAsync(latencies.DetachAndDelete, cancellationToken).ConfigureAwait(false);
            await inner.DetachAndDeleteEniAsync(eniId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Exit(eniId);
        }
    }

    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) =>
        inner.EnsureEniTagsAsync(eni, cancellationToken);

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        ClockDelay.Wait(time, delay, inline: true, cancellationToken);

    private void Enter(string eniId)
    {
        lock (_lock)
        {
            var n = _inFlight.GetValueOrDefault(eniId) + 1;
            _inFlight[eniId] = n;
            PeakConcurrentCallsPerEni = Math.Max(PeakConcurrentCallsPerEni, n);
        }
    }

    private void Exit(string eniId)
    {
        lock (_lock)
        {
            _inFlight[eniId]--;
        }
    }
}
