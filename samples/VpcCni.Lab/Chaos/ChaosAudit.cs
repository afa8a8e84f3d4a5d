using System.Net;
using System.Text.Json.Nodes;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;

namespace VpcCni.Lab.Chaos;

/// <summary>
/// The end of a chaos run: with every fault cleared and every daemon serving, reconciles the runtime's view, every
/// daemon's durable record, the kernel and EC2, then deletes every pod and checks that nothing is left: no address
/// assigned, no host veth or rule, no ENI that nobody manages.
/// </summary>
internal sealed class ChaosAudit(Lab lab, RuntimeView view, ChaosTally tally, ChaosStorm storm, int nodes, TextWriter progress)
{
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(150);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        progress.WriteLine("» audit: CNI GC on every node with the runtime's sandboxes as the valid attachments");
        for (var node = 1; node <= nodes; node++)
        {
            using var exclusive = await view.EnterGarbageCollectionAsync(node, cancellationToken);
            var gc = await lab.CniGcAsync(node, view.ValidOn(node), cancellationToken);
            if (gc["ok"]?.GetValue<bool>() != true)
            {
                tally.Problem(ChaosProblem.Broken, $"node {node}: GC failed after the faults were cleared: {gc["error"]?.ToJsonString()}");
            }
        }

        var running = view.Running();
        progress.WriteLine($"» audit: {running.Count} running pods against every daemon's durable record (SIGTERM, read, restart), EC2 and the kernel");
        var records = new Dictionary<int, IReadOnlyList<AllocationRecord>>();
        for (var node = 1; node <= nodes; node++)
        {
            await lab.StopDaemonAsync(node, cancellationToken);
            using (var store = new DurableAllocationStore(lab.CheckpointPath(node)))
            {
                var loaded = store.Load();
                records[node] = loaded.Allocations;
                foreach (var problem in loaded.Problems)
                {
                    progress.WriteLine($"  node {node} record: {problem}");
                }
            }

            await lab.RestartDaemonAsync(node, cancellationToken);
        }

        CompareRecords(running, records);
        CheckKernel(running);

        progress.WriteLine($"» audit: DEL of every running pod, then wait for every node to converge");
        foreach (var pod in running)
        {
            await storm.DeleteAsync(pod, cancellationToken);
        }

        await ConvergeAsync(cancellationToken);
    }

    private void CompareRecords(IReadOnlyList<ChaosPod> running, Dictionary<int, IReadOnlyList<AllocationRecord>> records)
    {
        var stale = new List<string>();
        var owners = new Dictionary<IPAddress, List<string>>();
        foreach (var (node, allocations) in records)
        {
            foreach (var allocation in allocations)
            {
                var address = allocation.Address.ToIPAddress();
                if (!owners.TryGetValue(address, out var list))
                {
                    owners[address] = list = [];
                }

                list.Add($"node {node} {allocation.Key}");
                if (!running.Any(p => p.Node == node && p.ContainerId == allocation.Key.ContainerId))
                {
                    stale.Add($"node {node}: {allocation.Key} ({address})");
                }
            }
        }

        // A DEL while the daemon was down succeeds in the plugin alone (upstream's rule: a pod must be deletable without
        // ipamd) and the runtime forgets the sandbox; the daemon drops such allocations when it next starts, because the
        // pod's host veth is gone. The restart above is such a start: the converge check after the drain fails if any
        // of them outlived it.
        if (stale.Count > 0)
        {
            progress.WriteLine($"  {stale.Count} allocation(s) in the records belong to sandboxes deleted while their daemon was down (dropped at the restart): {string.Join(", ", stale.Take(5))}");
        }

        foreach (var (address, list) in owners.Where(o => o.Value.Count > 1))
        {
            tally.Problem(ChaosProblem.Duplicated, $"{address} is recorded for {string.Join(" and ", list)}");
        }

        foreach (var pod in running)
        {
            var recorded = records[pod.Node].FirstOrDefault(a => a.Key.ContainerId == pod.ContainerId);
            if (recorded is null)
            {
                tally.Problem(ChaosProblem.Lost, $"{pod.ContainerId} runs with {pod.Address} but node {pod.Node}'s record does not list it");
                continue;
            }

            if (!recorded.Address.ToIPAddress().Equals(pod.Address))
            {
                tally.Problem(ChaosProblem.Lost, $"{pod.ContainerId} runs with {pod.Address} but node {pod.Node}'s record says {recorded.Address.ToIPAddress()}");
                continue;
            }

            if (!OnNodeInEc2(pod.Node, pod.Address!))
            {
                tally.Problem(ChaosProblem.Lost, $"{pod.ContainerId} runs with {pod.Address} but EC2 lists that address on no ENI of node {pod.Node}");
            }
        }
    }

    private bool OnNodeInEc2(int node, IPAddress address)
    {
        var instanceId = lab.Cluster.Nodes[node - 1].InstanceId;
        return lab.Cluster.Vpc.NetworkInterfaces
            .Where(e => e.Attachment?.InstanceId == instanceId)
            .Any(e => e.SecondaryIPv4.Contains(address) || e.IPv4Prefixes.Any(p => p.Contains(address)));
    }

    /// <summary>A running pod has its address on eth0 and a host route to it on its node.</summary>
    private void CheckKernel(IReadOnlyList<ChaosPod> running)
    {
        foreach (var pod in running)
        {
            var podNetlink = lab.Netlink(pod.Name);
            var eth0 = podNetlink.FindLinkByName("eth0");
            if (eth0 is null || !podNetlink.GetAddresses(System.Net.Sockets.AddressFamily.InterNetwork, eth0.Index).Any(a => a.Address.Equals(pod.Address)))
            {
                tally.Problem(ChaosProblem.HalfWired, $"{pod.ContainerId} on node {pod.Node}: eth0 does not carry {pod.Address}");
                continue;
            }

            var host = new IPNetwork(pod.Address!, 32);
            if (!lab.Netlink($"node{pod.Node}").GetRoutes().Any(r => r.Destination.Equals(host)))
            {
                tally.Problem(ChaosProblem.HalfWired, $"{pod.ContainerId} on node {pod.Node}: no host route to {pod.Address}");
            }
        }
    }

    /// <summary>Every daemon back to no assigned address, every ENI either deleted or attached and known to its daemon.</summary>
    private async Task ConvergeAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ConvergeTimeout;
        while (true)
        {
            var pending = await PendingAsync(cancellationToken);
            if (pending.Count == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                foreach (var (kind, detail) in pending)
                {
                    tally.Problem(kind, detail);
                }

                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        }
    }

    private async Task<List<(string Kind, string Detail)>> PendingAsync(CancellationToken cancellationToken)
    {
        var pending = new List<(string, string)>();
        var instances = lab.Cluster.Nodes.Select(n => n.InstanceId).ToHashSet(StringComparer.Ordinal);
        foreach (var eni in lab.Cluster.Vpc.NetworkInterfaces.Where(e => e.Attachment is null && e.Tags.TryGetValue(Aws.EniTags.InstanceId, out var owner) && instances.Contains(owner)))
        {
            pending.Add((ChaosProblem.LeakedEni, $"{eni.NetworkInterfaceId} ({eni.Status}) was created for {eni.Tags[Aws.EniTags.InstanceId]} and is attached nowhere"));
        }

        for (var node = 1; node <= nodes; node++)
        {
            JsonNode enis;
            try
            {
                enis = await lab.IntrospectAsync(node, "/v1/enis", cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                pending.Add((ChaosProblem.Broken, $"node {node}: introspection unavailable: {ex.Message}"));
                continue;
            }

            var card = enis["0"]!;
            var assigned = card["AssignedIPs"]?.GetValue<int>() ?? -1;
            if (assigned != 0)
            {
                pending.Add((ChaosProblem.Orphaned, $"node {node}: {assigned} addresses still assigned after every pod was deleted"));
            }

            var known = card["ENIs"]!.AsObject().Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            var instanceId = lab.Cluster.Nodes[node - 1].InstanceId;
            foreach (var eni in lab.Cluster.Vpc.NetworkInterfaces.Where(e => e.Attachment?.InstanceId == instanceId && !known.Contains(e.NetworkInterfaceId)))
            {
                pending.Add((ChaosProblem.LeakedEni, $"{eni.NetworkInterfaceId} is attached to node {node} (device {eni.Attachment!.DeviceIndex}) but its daemon does not manage it"));
            }

            var vethPrefix = "eni";
            foreach (var link in lab.Netlink($"node{node}").GetLinks().Where(l => l.Name.StartsWith(vethPrefix, StringComparison.Ordinal)))
            {
                pending.Add((ChaosProblem.LeakedHostLink, $"node {node}: host link {link.Name} left after every pod was deleted"));
            }

            foreach (var rule in lab.Netlink($"node{node}").GetRules().Where(r => r.Priority is 512 or 1536))
            {
                pending.Add((ChaosProblem.LeakedHostRule, $"node {node}: rule {rule.Priority} ({rule.Source?.ToString() ?? rule.Destination?.ToString()}) left after every pod was deleted"));
            }
        }

        return pending;
    }
}
