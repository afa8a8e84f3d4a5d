using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace VpcCni.Lab.Chaos;

/// <summary>
/// The runtime side of a chaos run: on every node, concurrent workers create sandboxes and ADD them through the real
/// plugin (libcni), keep some running to the end, DEL the rest (retrying a failed DEL as kubelet does), and check after
/// every successful DEL that the pod's host veth and policy rules are gone.
/// </summary>
internal sealed class ChaosStorm(Lab lab, RuntimeView view, ChaosTally tally, int seed, TextWriter progress)
{
    /// <summary>Pods per node that stay up through the whole storm (they must survive every fault).</summary>
    public const int KeptPerNode = 2;

    private static readonly TimeSpan DelRetryDelay = TimeSpan.FromSeconds(1);
    private const int DelAttempts = 120;

    public Task RunAsync(int nodes, int workersPerNode, DateTime until, CancellationToken cancellationToken)
    {
        var workers = new List<Task>();
        for (var node = 1; node <= nodes; node++)
        {
            for (var worker = 1; worker <= workersPerNode; worker++)
            {
                var (n, w) = (node, worker);
                workers.Add(Task.Run(() => WorkerAsync(n, w, until, cancellationToken), cancellationToken));
            }
        }

        return Task.WhenAll(workers);
    }

    private async Task WorkerAsync(int node, int worker, DateTime until, CancellationToken cancellationToken)
    {
        try
        {
            await StormAsync(node, worker, until, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // A worker that cannot go on is a finding of the run; the audit still runs.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            tally.Problem(ChaosProblem.Broken, $"node {node} worker {worker} stopped: {ex.Message}");
        }
    }

    private async Task StormAsync(int node, int worker, DateTime until, CancellationToken cancellationToken)
    {
        var random = new Random(HashCode.Combine(seed, node, worker));
        for (var i = 0; DateTime.UtcNow < until && !cancellationToken.IsCancellationRequested; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"c{node}w{worker}i{i}");
            var pod = new ChaosPod(node, name, string.Create(CultureInfo.InvariantCulture, $"chaos{seed & 0xffff:x4}n{node}w{worker}i{i:D4}"));
            lab.CreatePodNamespace(name);
            view.Begin(pod);
            tally.AddAttempted();
            JsonNode add;
            using (await view.EnterOperationAsync(node, cancellationToken))
            {
                add = await lab.CniAsync(node, "add", name, pod.ContainerId, cancellationToken);
            }

            if (add["ok"]?.GetValue<bool>() == true && add["result"]?["ips"]?[0]?["address"]?.GetValue<string>() is { } cidr)
            {
                var address = IPAddress.Parse(cidr.Split('/')[0]);
                tally.AddAcknowledged();
                if (view.Acknowledge(pod, address) is { } holder)
                {
                    tally.Problem(ChaosProblem.Duplicated, $"{address} acknowledged to {pod.ContainerId} while {holder.ContainerId} (node {holder.Node}) still runs with it");
                }

                if (view.KeptOn(node) < KeptPerNode && random.NextDouble() < 0.2)
                {
                    pod.Kept = true;
                    progress.WriteLine($"  ↳ node {node}: {name} keeps {address} to the end");
                    continue;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 2500)), cancellationToken);
            }
            else
            {
                tally.AddFailed(Cause(add));
            }

            // After a failed ADD the runtime DELs the sandbox too (StopPodSandbox), so partial wiring is undone.
            await DeleteAsync(pod, cancellationToken);
        }
    }

    /// <summary>DEL until it succeeds (kubelet retries), then checks the node kept nothing of the pod, then removes the sandbox.</summary>
    public async Task DeleteAsync(ChaosPod pod, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            JsonNode del;
            using (await view.EnterOperationAsync(pod.Node, cancellationToken))
            {
                del = await lab.CniAsync(pod.Node, "del", pod.Name, pod.ContainerId, cancellationToken);
            }

            if (del["ok"]?.GetValue<bool>() == true)
            {
                break;
            }

            if (attempt >= DelAttempts)
            {
                tally.Problem(ChaosProblem.StuckDel, $"{pod.ContainerId} on node {pod.Node}: DEL failed {attempt} times, last: {del["error"]?.ToJsonString()}");
                return;
            }

            tally.DelRetried();
            await Task.Delay(DelRetryDelay, cancellationToken);
        }

        tally.Deleted();
        CheckNothingLeft(pod);
        lab.DeletePodNamespace(pod.Name);
        view.End(pod);
    }

    /// <summary>A veth pair lives while either end does: the pod's eth0 still there means the host veth is too.</summary>
    private void CheckNothingLeft(ChaosPod pod)
    {
        if (lab.Netlink(pod.Name).FindLinkByName("eth0") is not null)
        {
            tally.Problem(ChaosProblem.LeakedHostLink, $"{pod.ContainerId} on node {pod.Node}: its veth pair outlived a successful DEL");
        }

        if (pod.Address is { } address)
        {
            var host = new IPNetwork(address, 32);
            foreach (var rule in lab.Netlink($"node{pod.Node}").GetRules())
            {
                if (rule.Priority is 512 or 1536 && (host.Equals(rule.Source) || host.Equals(rule.Destination)))
                {
                    tally.Problem(ChaosProblem.LeakedHostRule, $"{pod.ContainerId} on node {pod.Node}: rule {rule.Priority} for {address} outlived a successful DEL");
                }
            }
        }
    }

    private static string Cause(JsonNode report)
    {
        var error = report["error"];
        var code = error?["code"]?.ToString() ?? "?";
        var message = error?["msg"]?.GetValue<string>() ?? report.ToJsonString();
        var details = error?["details"]?.GetValue<string>() is { Length: > 0 } d ? $" ({d})" : "";
        var cause = message + details;
        return $"code {code}: {(cause.Length > 140 ? cause[..140] : cause)}";
    }
}
