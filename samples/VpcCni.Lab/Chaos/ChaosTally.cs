using System.Collections.Concurrent;

namespace VpcCni.Lab.Chaos;

/// <summary>What happened during a chaos run, and every problem found (each named, for the failure report).</summary>
internal sealed class ChaosTally
{
    private readonly ConcurrentDictionary<string, int> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _addFailures = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Kind, string Detail)> _problems = new();
    private int _kills;
    private int _addsAttempted;
    private int _addsAcknowledged;
    private int _dels;
    private int _delRetries;

    public int Kills => Volatile.Read(ref _kills);

    public int Faults => _faults.Values.Sum();

    public int AddsAttempted => Volatile.Read(ref _addsAttempted);

    public int AddsAcknowledged => Volatile.Read(ref _addsAcknowledged);

    public int Dels => Volatile.Read(ref _dels);

    public int DelRetries => Volatile.Read(ref _delRetries);

    public IReadOnlyDictionary<string, int> FaultsByKind => _faults;

    public IReadOnlyDictionary<string, int> AddFailuresByCause => _addFailures;

    public void Kill() => Interlocked.Increment(ref _kills);

    public void Fault(string kind) => _faults.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public void AddAttempted() => Interlocked.Increment(ref _addsAttempted);

    public void AddAcknowledged() => Interlocked.Increment(ref _addsAcknowledged);

    public void AddFailed(string cause) => _addFailures.AddOrUpdate(cause, 1, (_, n) => n + 1);

    public void Deleted() => Interlocked.Increment(ref _dels);

    public void DelRetried() => Interlocked.Increment(ref _delRetries);

    /// <summary>Records a problem of a kind the summary line counts (lost, duplicated, leaked ENI, leaked host link, ...).</summary>
    public void Problem(string kind, string detail) => _problems.Enqueue((kind, detail));

    public int Count(string kind) => _problems.Count(p => p.Kind == kind);

    public IReadOnlyList<(string Kind, string Detail)> Problems => [.. _problems];
}

/// <summary>The kinds of problem a chaos run can find.</summary>
internal static class ChaosProblem
{
    /// <summary>An acknowledged ADD whose pod still runs but whose address the daemon's record, EC2 or the kernel lost.</summary>
    public const string Lost = "lost";

    /// <summary>One address held by two pods (live, or in the daemons' records).</summary>
    public const string Duplicated = "duplicated";

    /// <summary>An ENI nobody manages: detached and left available, or attached but unknown to the daemon.</summary>
    public const string LeakedEni = "leaked ENI";

    /// <summary>A pod's host veth left after its DEL succeeded.</summary>
    public const string LeakedHostLink = "leaked host link";

    /// <summary>A pod's policy rule (priority 512 or 1536) left after its DEL succeeded.</summary>
    public const string LeakedHostRule = "leaked host rule";

    /// <summary>An allocation in a daemon's record for a pod the runtime no longer has (after GC).</summary>
    public const string Orphaned = "orphaned allocation";

    /// <summary>A running pod whose address or host route is missing from the kernel.</summary>
    public const string HalfWired = "half-wired pod";

    /// <summary>A DEL that kept failing: the runtime could not remove the pod.</summary>
    public const string StuckDel = "stuck DEL";

    /// <summary>A daemon that did not come back or a step of the run that failed.</summary>
    public const string Broken = "broken";
}
