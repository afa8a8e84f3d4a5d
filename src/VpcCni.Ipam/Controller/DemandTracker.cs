namespace VpcCni.Ipam;

/// <summary>Recent ADD timestamps in a fixed ring (no allocation per ADD), for the demand-aware policy.</summary>
internal sealed class DemandTracker(TimeProvider time, TimeSpan window)
{
    private readonly long[] _ring = new long[1024];
    private long _count;

    public void RecordAdd()
    {
        var i = Interlocked.Increment(ref _count) - 1;
        Volatile.Write(ref _ring[i % _ring.Length], time.GetTimestamp());
    }

    /// <summary>ADDs per second over the window (bounded by the ring size).</summary>
    public double AddsPerSecond() => AddsWithin(window) / window.TotalSeconds;

    /// <summary>ADDs within the last <paramref name="span"/> (bounded by the ring size).</summary>
    public int AddsWithin(TimeSpan span)
    {
        var now = time.GetTimestamp();
        var horizon = now - (long)(span.TotalSeconds * time.TimestampFrequency);
        var n = Math.Min(Volatile.Read(ref _count), _ring.Length);
        var inWindow = 0;
        for (var i = 0; i < n; i++)
        {
            if (Volatile.Read(ref _ring[i]) > horizon)
            {
                inWindow++;
            }
        }

        return inWindow;
    }
}
