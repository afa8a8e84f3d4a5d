using System.Diagnostics;
using System.Globalization;
using System.Text;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>
/// Runs N nodes in one simulated account: each node runs the real <see cref="PoolController"/> against its own instance
/// through <see cref="FleetNodeCloud"/>, all nodes draw on the account's shared EC2 buckets, all on one
/// <see cref="FleetClock"/>. Pods reach a node as the workload says; a pod whose ADD fails is retried by the kubelet
/// after <see cref="FleetSettings.PodRetryInterval"/>. Deterministic for a seed: one thread, one event order, seeded jitter.
/// </summary>
internal static class FleetSimulator
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Runs the workload once per policy.</summary>
    /// <param name="progress">Hears a progress line now and then (wall-clock paced; not part of the result).</param>
    public static IReadOnlyList<FleetRun> Run(FleetSettings settings, IReadOnlyList<FleetPolicy> policies, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        return [.. policies.Select(p => Run(settings, p, progress))];
    }

    /// <summary>Runs the workload with one policy.</summary>
    public static FleetRun Run(FleetSettings settings, FleetPolicy policy, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(policy);
        return new Run(settings, policy, progress).Execute();
    }

    /// <summary>The aligned text table.</summary>
    public static string FormatTable(IReadOnlyList<FleetRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"policy",-10} {"pods/min",9} {"all running",12} {"wait p50",9} {"wait p99",9} {"EC2 calls",10} {"throttled",10} {"avg idle",9} {"1st addr",9} {"pods run",13}");
        foreach (var run in runs)
        {
            var r = run.Result;
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Policy,-10} {r.PodsPerMinute,9:0.0} {r.AllRunningSeconds,11:0.0}s {r.PodWaitP50Seconds,8:0.0}s {r.PodWaitP99Seconds,8:0.0}s {r.Ec2Calls,10} {r.ThrottledCalls,10} {r.AvgIdleIps,9:0.0} {r.FirstAddressSeconds,8:0.0}s {$"{run.PodsStarted}/{run.PodsTotal}",13}");
        }

        return sb.ToString();
    }

    internal static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var index = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }
}

/// <summary>One policy's run (the simulator's state).</summary>
internal sealed class Run
{
    private readonly FleetSettings _settings;
    private readonly FleetPolicy _policy;
    private readonly Action<string>? _progress;
    private readonly FleetClock _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly FleetAccount _account;
    private readonly List<Node> _nodes = [];
    private readonly List<double> _waits = [];
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private long _nextProgress;
    private int _podsTotal;
    private int _joined;
    private int _podsRunning;
    private double _lastStart;
    private double _t0;

    public Run(FleetSettings settings, FleetPolicy policy, Action<string>? progress)
    {
        _settings = settings;
        _policy = policy;
        _progress = progress;
        _account = new FleetAccount(_clock, settings.AccountCapacityScale);
    }

    public FleetRun Execute()
    {
        var random = new Random(_settings.Seed);
        var pattern = _settings.InstanceTypes.SelectMany(t => Enumerable.Repeat(t.Limits, t.Weight)).ToList();
        if (pattern.Count == 0 || _settings.Nodes < 1)
        {
            throw new ArgumentException("a fleet needs at least one node and one instance type");
        }

        _t0 = _settings.Workload == FleetWorkloadKind.ScaleUp ? _settings.WarmupSeconds : 0;

        // The measured time starts before anything else due at its first instant (queued first).
        long warmupThrottled = 0, callsAtT0 = 0;
        _clock.At(_t0, () => (warmupThrottled, callsAtT0) = (_account.Throttled, _account.Calls));
        for (var i = 0; i < _settings.Nodes; i++)
        {
            var start = _settings.Workload == FleetWorkloadKind.ScaleUp ? random.NextDouble() * _settings.WarmupSeconds / 2 : 0;
            var node = new Node(this, i, pattern[i % pattern.Count], start, _settings.Seed * 7919 + i);
            _nodes.Add(node);
            // The kubelet registers the node with the API server as the instance starts, before the daemon's pod runs:
            // nodes that start at the same moment are all in the node list their daemons read.
            _clock.At(start, node.Register);
        }

        foreach (var node in _nodes)
        {
            _clock.At(node.StartedAt, node.Start);
        }

        ScheduleWorkload();
        var end = _t0 + _settings.DurationSeconds;
        _clock.RunUntil(_t0);
        var samples = new List<FleetSample>();
        var idleSum = 0.0;
        var idleSamples = 0;
        var lastThrottled = _account.Throttled;
        for (var t = _t0; t <= end + 1e-9; t += _settings.SampleSeconds)
        {
            _clock.RunUntil(t);
            var throttled = _account.Throttled;
            samples.Add(new FleetSample(Math.Round(t - _t0, 3), _podsRunning, t == _t0 ? 0 : (throttled - lastThrottled) / _settings.SampleSeconds));
            lastThrottled = throttled;
            idleSum += AverageIdle();
            idleSamples++;
            Progress(t, end);
            if (!_settings.FullDuration && _podsRunning == _podsTotal && _podsTotal > 0 && t - _t0 >= 60 && _settings.Workload != FleetWorkloadKind.Trace)
            {
                // Every pod runs: the rest of the run would only repeat the steady pool.
                break;
            }
        }

        var measuredEnd = _clock.Seconds;
        _progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"fleet {_policy.Name}: done at {measuredEnd - _t0:0} s virtual, {_clock.Fired} events; requests accepted/throttled per bucket: {_account.Describe()}"));

        foreach (var node in _nodes)
        {
            foreach (var pod in node.Waiting)
            {
                _waits.Add(measuredEnd - pod.Arrival);
            }
        }

        _waits.Sort();
        var allRunning = _podsRunning == _podsTotal ? Math.Max(0, _lastStart - _t0) : _settings.DurationSeconds;
        var firstAddress = _nodes.Where(n => n.FirstAddress is not null).Select(n => n.FirstAddress!.Value - n.StartedAt).Order().ToList();
        var result = new FleetResult(
            _policy.Name,
            Round(allRunning > 0 ? _podsRunning / (allRunning / 60) : 0),
            Round(allRunning),
            Round(FleetSimulator.Percentile(_waits, 0.50)),
            Round(FleetSimulator.Percentile(_waits, 0.99)),
            _account.Calls - callsAtT0,
            _account.Throttled - warmupThrottled,
            Round(idleSamples == 0 ? 0 : idleSum / idleSamples),
            Round(firstAddress.Count == 0 ? 0 : FleetSimulator.Percentile(firstAddress, 0.5)));
        return new FleetRun(result, samples, _podsTotal, _podsRunning, warmupThrottled, _clock.Fired);
    }

    internal FleetClock Clock => _clock;

    internal FleetAccount Account => _account;

    internal FleetSettings Settings => _settings;

    internal FleetPolicy Policy => _policy;

    internal void PodStarted(Pod pod)
    {
        _podsRunning++;
        var now = _clock.Seconds;
        _lastStart = Math.Max(_lastStart, now);
        _waits.Add(now - pod.Arrival);
    }

    private static double Round(double v) => Math.Round(v, 2);

    private double AverageIdle()
    {
        double idle = 0;
        var counted = 0;
        foreach (var node in _nodes)
        {
            if (node.IdleAddresses() is { } n)
            {
                idle += n;
                counted++;
            }
        }

        return counted == 0 ? 0 : idle / counted;
    }

    private void ScheduleWorkload()
    {
        switch (_settings.Workload)
        {
            case FleetWorkloadKind.ScaleUp:
                // The scheduler spreads the pods in proportion to each node's pod capacity (less the two host-network
                // daemons every node runs); pods beyond the fleet's capacity stay Pending and are not counted.
                var capacity = _nodes.Select(n => Math.Max(0, n.MaxPods - 2)).ToArray();
                var total = capacity.Sum();
                var placed = 0;
                var share = new int[_nodes.Count];
                for (var i = 0; i < _nodes.Count; i++)
                {
                    share[i] = (int)Math.Min(capacity[i], Math.Floor((double)_settings.Pods * capacity[i] / Math.Max(1, total)));
                    placed += share[i];
                }

                for (var i = 0; placed < Math.Min(_settings.Pods, total); i = (i + 1) % _nodes.Count)
                {
                    if (share[i] < capacity[i])
                    {
                        share[i]++;
                        placed++;
                    }
                }

                for (var i = 0; i < _nodes.Count; i++)
                {
                    var node = _nodes[i];
                    var count = share[i];
                    _clock.At(_t0, () => node.AddPods(count));
                }

                break;
            case FleetWorkloadKind.Join:
                foreach (var node in _nodes)
                {
                    var count = Math.Min(_settings.PodsPerNode, Math.Max(0, node.MaxPods - 2));
                    _clock.At(node.StartedAt, () => node.AddPods(count));
                }

                break;
            case FleetWorkloadKind.Trace:
                var trace = _settings.Trace ?? throw new ArgumentException("a trace workload needs a trace");
                foreach (var node in _nodes)
                {
                    foreach (var e in trace.Events.OrderBy(e => e.At))
                    {
                        var (add, delete) = (e.Add, e.Delete);
                        _clock.At(node.StartedAt + e.At, () =>
                        {
                            node.AddPods(add);
                            node.DeletePods(delete);
                        });
                    }
                }

                break;
        }
    }

    internal void CountPods(int added) => _podsTotal += added;

    /// <summary>A node registers with the API server: its index in the node list by creation time.</summary>
    internal int Joined() => _joined++;

    /// <summary>How many nodes the API server's node list holds now.</summary>
    internal int NodesJoined => _joined;

    private void Progress(double t, double end)
    {
        if (_progress is null || _wall.ElapsedMilliseconds < _nextProgress)
        {
            return;
        }

        _nextProgress = _wall.ElapsedMilliseconds + 1000;
        _progress(string.Create(CultureInfo.InvariantCulture,
            $"fleet {_policy.Name}: {t - _t0:0}/{end - _t0:0} s virtual, {_nodes.Count} nodes, pods running {_podsRunning}/{_podsTotal}, EC2 calls {_account.Calls}, throttled {_account.Throttled}, {_wall.Elapsed.TotalSeconds:0.0} s wall"));
    }
}
