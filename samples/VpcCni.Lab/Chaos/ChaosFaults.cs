using System.Diagnostics;
using VpcCni.Aws;

namespace VpcCni.Lab.Chaos;

/// <summary>
/// The fault injector of a chaos run: at random moments (seeded) it kills a daemon with SIGKILL and restarts it as
/// the DaemonSet would, throttles EC2, answers 5xx, loses the replies of creates/attaches/assigns that EC2 carried
/// out, lets IMDS lag behind EC2, empties the cloud's view of the instance's ENIs, fills a node's checkpoint disk, and
/// corrupts the tail of a node's journal. After each restart the runtime runs CNI GC, as containerd does.
/// </summary>
internal sealed class ChaosFaults
{
    private static readonly TimeSpan WindowLength = TimeSpan.FromSeconds(12);
    private readonly Lab _lab;
    private readonly RuntimeView _view;
    private readonly ChaosTally _tally;
    private readonly int _nodes;
    private readonly TextWriter _progress;
    private readonly Stopwatch _clock;
    private readonly Random _random;
    private readonly SemaphoreSlim[] _nodeLocks;

    public ChaosFaults(Lab lab, RuntimeView view, ChaosTally tally, int seed, int nodes, TextWriter progress, Stopwatch clock)
    {
        _lab = lab;
        _view = view;
        _tally = tally;
        _nodes = nodes;
        _progress = progress;
        _clock = clock;
        _random = new Random(seed);
        _nodeLocks = [.. Enumerable.Range(0, nodes + 1).Select(_ => new SemaphoreSlim(1, 1))];
    }

    private delegate Task Fault(int node, CancellationToken cancellationToken);

    public async Task RunAsync(DateTime until, CancellationToken cancellationToken)
    {
        (Fault Run, int Weight)[] faults =
        [
            (KillAsync, 2), (ThrottleAsync, 1), (ServerErrorsAsync, 1), (LostRepliesAsync, 2),
            (ImdsLagAsync, 1), (EmptyViewAsync, 1), (DiskFullAsync, 1), (CorruptJournalAsync, 1),
        ];
        // A shuffled deck (each fault as often as its weight) rather than independent draws: every kind of fault
        // happens even in a short run, in a seeded random order.
        var deck = new Queue<Fault>();
        var running = new List<Task>();
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(3_000, 8_000)), cancellationToken);
            if (DateTime.UtcNow + WindowLength >= until)
            {
                break;
            }

            if (deck.Count == 0)
            {
                var cards = faults.SelectMany(f => Enumerable.Repeat(f.Run, f.Weight)).ToArray();
                _random.Shuffle(cards);
                foreach (var card in cards)
                {
                    deck.Enqueue(card);
                }
            }

            var node = _random.Next(1, _nodes + 1);
            running.Add(Guarded(deck.Dequeue(), node, cancellationToken));
        }

        await Task.WhenAll(running);
    }

    /// <summary>Ends every fault and brings every daemon back (the audit then looks at a healthy system).</summary>
    public async Task ClearAsync(CancellationToken cancellationToken)
    {
        _lab.Cluster.Vpc.Requests.ClearFaults();
        _lab.Cluster.Vpc.Options.ImdsLag = TimeSpan.Zero;
        for (var node = 1; node <= _nodes; node++)
        {
            File.Delete(FillerPath(node));
            if (!_lab.DaemonRunning(node))
            {
                await _lab.RestartDaemonAsync(node, cancellationToken);
            }
        }
    }

    private async Task Guarded(Fault fault, int node, CancellationToken cancellationToken)
    {
        try
        {
            await fault(node, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // A fault that cannot be carried out is a finding of the run, not a crash of the lab.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _tally.Problem(ChaosProblem.Broken, $"fault on node {node} failed: {ex.Message}");
        }
    }

    private void Say(string what) => _progress.WriteLine($"  ↯ {_clock.Elapsed.TotalSeconds,5:0} s: {what}");

    private async Task KillAsync(int node, CancellationToken cancellationToken)
    {
        await _nodeLocks[node].WaitAsync(cancellationToken);
        try
        {
            await KillAndRestartAsync(node, "kill -9", beforeRestart: null, cancellationToken);
        }
        finally
        {
            _nodeLocks[node].Release();
        }
    }

    private async Task KillAndRestartAsync(int node, string what, Action? beforeRestart, CancellationToken cancellationToken)
    {
        _tally.Kill();
        var down = Stopwatch.StartNew();
        _lab.KillDaemon(node);
        beforeRestart?.Invoke();
        await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(300, 2_000)), cancellationToken);
        await _lab.RestartDaemonAsync(node, cancellationToken);
        Say($"{what} node {node}'s daemon; serving again after {down.Elapsed.TotalSeconds:0.0} s");
        await GarbageCollectAsync(node, cancellationToken);
    }

    /// <summary>The runtime's GC after a restart: every attachment of a sandbox it no longer has is released.</summary>
    private async Task GarbageCollectAsync(int node, CancellationToken cancellationToken)
    {
        using var exclusive = await _view.EnterGarbageCollectionAsync(node, cancellationToken);
        var gc = await _lab.CniGcAsync(node, _view.ValidOn(node), cancellationToken);
        if (gc["ok"]?.GetValue<bool>() != true)
        {
            Say($"node {node}: GC failed ({gc["error"]?.ToJsonString()}); the next GC retries");
        }
    }

    private async Task ThrottleAsync(int node, CancellationToken cancellationToken)
    {
        _tally.Fault("EC2 throttling");
        Say($"EC2 throttles half of all requests for {WindowLength.TotalSeconds:0} s");
        await WindowAsync(Ec2ErrorCodes.RequestLimitExceeded, 0.5, cancellationToken);
    }

    private async Task ServerErrorsAsync(int node, CancellationToken cancellationToken)
    {
        _tally.Fault("EC2 5xx");
        Say($"EC2 answers 30% of requests with 500 InternalError for {WindowLength.TotalSeconds:0} s");
        await WindowAsync(Ec2ErrorCodes.InternalError, 0.3, cancellationToken);
    }

    private async Task WindowAsync(string code, double rate, CancellationToken cancellationToken)
    {
        var requests = _lab.Cluster.Vpc.Requests;
        requests.SetErrorRate("*", code, rate);
        try
        {
            await Task.Delay(WindowLength, cancellationToken);
        }
        finally
        {
            requests.SetErrorRate("*", code, 0);
        }
    }

    private Task LostRepliesAsync(int node, CancellationToken cancellationToken)
    {
        _tally.Fault("lost replies");
        var requests = _lab.Cluster.Vpc.Requests;
        foreach (var action in new[] { "CreateNetworkInterface", "AttachNetworkInterface", "AssignPrivateIpAddresses" })
        {
            requests.ForceLostReply(action, times: 1);
        }

        Say("EC2 will carry out the next create, attach and assign but lose their replies (500 after the change)");
        return Task.CompletedTask;
    }

    private async Task ImdsLagAsync(int node, CancellationToken cancellationToken)
    {
        _tally.Fault("IMDS lag");
        var lag = TimeSpan.FromSeconds(_random.Next(3, 8));
        Say($"IMDS lags EC2 by {lag.TotalSeconds:0} s for {2 * WindowLength.TotalSeconds:0} s");
        _lab.Cluster.Vpc.Options.ImdsLag = lag;
        try
        {
            await Task.Delay(2 * WindowLength, cancellationToken);
        }
        finally
        {
            _lab.Cluster.Vpc.Options.ImdsLag = TimeSpan.Zero;
        }
    }

    private async Task EmptyViewAsync(int node, CancellationToken cancellationToken)
    {
        _tally.Fault("empty cloud view");
        var length = TimeSpan.FromSeconds(8);
        _lab.Cluster.Vpc.Requests.ForceEmptyView(length);
        Say($"EC2 and IMDS list no ENIs for any instance for {length.TotalSeconds:0} s, and node {node}'s daemon restarts meanwhile");
        await _nodeLocks[node].WaitAsync(cancellationToken);
        try
        {
            await KillAndRestartAsync(node, "during the empty view, kill -9", beforeRestart: null, cancellationToken);
        }
        finally
        {
            _nodeLocks[node].Release();
        }
    }

    private async Task DiskFullAsync(int node, CancellationToken cancellationToken)
    {
        await _nodeLocks[node].WaitAsync(cancellationToken);
        try
        {
            _tally.Fault("full disk");
            var written = Fill(FillerPath(node));
            Say($"node {node}'s checkpoint disk is full ({written / 1024} KiB of filler) for {WindowLength.TotalSeconds:0} s");
            await Task.Delay(WindowLength, cancellationToken);
        }
        finally
        {
            File.Delete(FillerPath(node));
            _nodeLocks[node].Release();
        }
    }

    private async Task CorruptJournalAsync(int node, CancellationToken cancellationToken)
    {
        await _nodeLocks[node].WaitAsync(cancellationToken);
        try
        {
            _tally.Fault("corrupt journal tail");
            var journal = _lab.CheckpointPath(node) + ".journal";
            var garbage = new byte[_random.Next(8, 200)];
            _random.NextBytes(garbage);
            await KillAndRestartAsync(node, $"kill -9, then {garbage.Length} random bytes appended to the journal of,", () =>
            {
                using var stream = new FileStream(journal, FileMode.Append, FileAccess.Write);
                stream.Write("a1b2c3d4 {\"op\":\"a\",\"c\":"u8);
                stream.Write(garbage);
            }, cancellationToken);
        }
        finally
        {
            _nodeLocks[node].Release();
        }
    }

    private string FillerPath(int node) => Path.Combine(_lab.StateDir(node), "filler");

    /// <summary>Writes until the tmpfs says ENOSPC; returns the bytes written.</summary>
    private static long Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        long written = 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            while (true)
            {
                stream.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full, as intended. Smaller writes take the last free pages too.
        }

        try
        {
            using var tail = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            while (true)
            {
                tail.Write(chunk.AsSpan(0, 512));
                written += 512;
            }
        }
        catch (IOException)
        {
        }

        return written;
    }
}
