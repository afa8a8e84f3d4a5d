using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>A pod on a fleet node.</summary>
internal sealed class Pod(AttachmentKey key, double arrival)
{
    public AttachmentKey Key { get; } = key;

    public double Arrival { get; } = arrival;

    public bool Started { get; set; }

    public bool Deleted { get; set; }

    /// <summary>The pod's ADD is with the daemon.</summary>
    public bool InFlight { get; set; }

    /// <summary>The pod's last ADD failed; the kubelet tries again after the pod retry interval.</summary>
    public bool RetryPending { get; set; }
}

/// <summary>
/// One node of the fleet: its instance, its daemon (a real <see cref="PoolController"/> with the policy's options and EC2
/// client) and its kubelet (pods in arrival order, one ADD in flight at a time, a failed ADD retried after the pod retry
/// interval). A daemon whose start fails (e.g. its first DescribeNetworkInterfaces is throttled) is restarted with the
/// kubelet's crash back-off, as a crashing aws-node container is.
/// </summary>
internal sealed class Node
{
    private readonly Run _run;
    private readonly InstanceLimits _limits;
    private readonly InMemoryPlanningCloud _instance;
    private readonly FleetNodeCloud _cloud;
    private readonly LinkedList<Pod> _waiting = new();
    private readonly List<Pod> _present = [];
    private readonly int _index;
    private PoolController? _controller;
    private bool _ready;
    private List<Pod>? _retryBatch;
    private double _retryAt;
    private bool _checkScheduled;
    private int _restarts;
    private int _podSeq;

    public Node(Run run, int index, InstanceLimits limits, double startAt, int seed)
    {
        _run = run;
        _index = index;
        _limits = limits;
        StartedAt = startAt;
        MaxPods = MaxPodsCalculator.Default(limits, false, false);
        _instance = new InMemoryPlanningCloud(limits, (limits.MaxEnis * limits.IPv4PerEni) + 16);
        FleetEc2Client client = run.Policy.Client == FleetClientKind.AdaptiveBudget
            ? new AdaptiveBudgetClient(run.Account, run.Clock, new AdaptiveRequestBudget(FleetAccount.Buckets, run.Settings.NodeBudget(run.Policy.Paced), run.Clock, seed, run.Policy.Scheduled ? new NodeListPlace(run, this) : null))
            : new SdkStandardRetryClient(run.Account, run.Clock, new Random(seed));
        _cloud = new FleetNodeCloud(_instance, client, run.Settings.Latencies, run.Clock, ScheduleAddressCheck, IsBackground, run.Policy.ReconcileFromImds, run.Policy.Paced);
    }

    public double StartedAt { get; }

    public int MaxPods { get; }

    /// <summary>When the node first had an address to hand out (seconds since the run's start).</summary>
    public double? FirstAddress { get; private set; }

    public IEnumerable<Pod> Waiting => _waiting;

    /// <summary>Addresses on the node not assigned to a pod; null before the daemon has a datastore.</summary>
    public int? IdleAddresses()
    {
        if (!_ready || _controller is null)
        {
            return null;
        }

        var stats = _controller.Datastore.GetStats();
        return stats.TotalIPs - stats.AssignedIPs;
    }

    /// <summary>The node's index among the fleet's nodes by the moment they registered (the API server's node list by
    /// creation time); null before it registered.</summary>
    public int? Rank { get; private set; }

    /// <summary>The kubelet registers the node with the API server.</summary>
    public void Register() => Rank ??= _run.Joined();

    /// <summary>The daemon starts.</summary>
    public void Start()
    {
        var options = _run.Policy.Options();
        var policy = _run.Policy.PoolPolicy?.Invoke();
        _controller?.Dispose();
        var controller = new PoolController(_cloud, options, _run.Clock, null, null, null, 0, inlineSignals: true, null, policy);
        _controller = controller;
        _ = InitializeAsync(controller);
    }

    public void AddPods(int count)
    {
        _run.CountPods(count);
        var now = _run.Clock.Seconds;
        for (var i = 0; i < count; i++)
        {
            var pod = new Pod(new AttachmentKey("fleet", $"n{_index}-p{_podSeq++}", "eth0"), now);
            _waiting.AddLast(pod);
            _present.Add(pod);
        }

        Pump();
    }

    /// <summary>Removes the oldest pods still present (DEL, or the pending pod given up).</summary>
    public void DeletePods(int count)
    {
        for (var i = 0; i < _present.Count && count > 0; i++)
        {
            var pod = _present[i];
            if (pod.Deleted)
            {
                continue;
            }

            pod.Deleted = true;
            count--;
            if (pod.Started && _controller is { } c)
            {
                _ = c.UnassignAsync(pod.Key, CancellationToken.None).AsTask();
            }
            else
            {
                _waiting.Remove(pod);
            }
        }

        _present.RemoveAll(p => p.Deleted);
    }

    private async Task InitializeAsync(PoolController controller)
    {
        try
        {
            await controller.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (CloudException)
        {
            // The daemon exits; the kubelet restarts the container after 10 s, 20 s, ... up to 5 minutes.
            var backoff = Math.Min(300, 10 * Math.Pow(2, _restarts++));
            _run.Clock.At(_run.Clock.Seconds + backoff, Start);
            return;
        }

        _ready = true;
        _ = controller.RunAsync(CancellationToken.None);
        CheckFirstAddress();
        Pump();
    }

    // A cloud operation added addresses; the controller records them when the operation's continuation has run, which
    // is before the clock's next event: look then.
    private void ScheduleAddressCheck()
    {
        if (FirstAddress is null && !_checkScheduled)
        {
            _checkScheduled = true;
            _run.Clock.At(_run.Clock.Seconds, () =>
            {
                _checkScheduled = false;
                CheckFirstAddress();
            });
        }
    }

    private void CheckFirstAddress()
    {
        if (FirstAddress is not null || _controller is null)
        {
            return;
        }

        try
        {
            var stats = _controller.Datastore.GetStats();
            if (stats.TotalIPs > 0)
            {
                FirstAddress = _run.Clock.Seconds;
            }
        }
        catch (InvalidOperationException)
        {
            // Not initialized far enough to have a datastore yet.
        }
    }

    // The kubelet's pod workers run in parallel: every pending pod has its ADD with the daemon, so the daemon sees the
    // whole demand (a burst's waiting ADDs), as it does on a real node.
    private void Pump()
    {
        if (!_ready)
        {
            return;
        }

        for (var entry = _waiting.First; entry is not null;)
        {
            var next = entry.Next;
            var pod = entry.Value;
            if (!pod.InFlight && !pod.RetryPending)
            {
                var add = _controller!.AssignAsync(pod.Key, PodMetadata.None, CancellationToken.None);
                if (add.IsCompleted)
                {
                    Completed(pod, add.Result);
                }
                else
                {
                    pod.InFlight = true;
                    _ = AwaitAsync(pod, add);
                }
            }

            entry = next;
        }
    }

    // The daemon's own signal, as the EC2 provider asks it: requests may wait unless an ADD waits (or the last found no
    // address) with none ready; a starting daemon's first addresses are what the node waits for.
    private bool IsBackground() => _controller is { } controller && controller.CanWait;

    private async Task AwaitAsync(Pod pod, ValueTask<AssignResult> add)
    {
        var result = await add.ConfigureAwait(false);
        pod.InFlight = false;
        Completed(pod, result);
    }

    private void Completed(Pod pod, AssignResult result)
    {
        if (result.Succeeded)
        {
            _waiting.Remove(pod);
            pod.Started = true;
            FirstAddress ??= _run.Clock.Seconds;
            if (pod.Deleted)
            {
                _ = _controller!.UnassignAsync(pod.Key, CancellationToken.None).AsTask();
            }
            else
            {
                _run.PodStarted(pod);
            }

            return;
        }

        pod.RetryPending = true;
        if (pod.Deleted)
        {
            return;
        }

        // Pods that failed at the same moment are retried by one timer (the simulator's cost stays per node, not per pod).
        var at = _run.Clock.Seconds + _run.Settings.PodRetryInterval.TotalSeconds;
        if (_retryBatch is null || _retryAt != at)
        {
            var batch = new List<Pod>();
            _retryBatch = batch;
            _retryAt = at;
            _run.Clock.At(at, () =>
            {
                if (ReferenceEquals(_retryBatch, batch))
                {
                    _retryBatch = null;
                }

                foreach (var p in batch)
                {
                    p.RetryPending = false;
                }

                Pump();
            });
        }

        _retryBatch.Add(pod);
    }
}
