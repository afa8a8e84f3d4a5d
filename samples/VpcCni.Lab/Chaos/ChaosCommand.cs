using System.Diagnostics;
using System.Globalization;

namespace VpcCni.Lab.Chaos;

/// <summary>
/// <c>vpc-cni-lab chaos</c>: a 2-node lab under concurrent ADD/DEL storms through the real plugin while faults are
/// injected at random; then the runtime, every daemon's record, the kernel and EC2 are reconciled and one line says
/// what was lost, duplicated or leaked. Exits non-zero, naming each problem, when anything was.
/// </summary>
internal static class ChaosCommand
{
    /// <summary>Build, audit and tear-down take about this long; the storm gets the rest of --minutes.</summary>
    private static readonly TimeSpan Overhead = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(LabOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var seed = options.Seed ?? Random.Shared.Next(1, 1_000_000);
        var storm = TimeSpan.FromSeconds(Math.Max(30, (options.Minutes * 60) - Overhead.TotalSeconds));
        options = options with
        {
            // Unless told otherwise: 15 pod addresses on 3 ENIs of 5, so the storm grows and shrinks ENIs under faults
            // without running out of room.
            InstanceType = options.InstanceTypeGiven ? options.InstanceType : "t3.medium",
            PodsPerNode = 0,
            StateOnTmpfs = true,
            // The storm's sandboxes are not registered pods: an API that calls them gone would make restarts release them.
            KubernetesApi = false,
            DaemonEnvironment = new Dictionary<string, string>(options.DaemonEnvironment)
            {
                ["VPC_CNI_ASSIGN_WAIT"] = "10",
                ["IP_COOLDOWN_PERIOD"] = "2",
            },
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"chaos: seed {seed}, {options.Nodes} nodes × {options.InstanceType}, storm {storm.TotalSeconds:0} s, {options.ChaosWorkers} ADD/DEL workers per node (repeat with --seed {seed})"));

        var lab = new Lab(options, output);
        var tally = new ChaosTally();
        var exit = 1;
        try
        {
            await lab.BuildAsync(cancellationToken);
            var view = new RuntimeView(options.Nodes);
            var clock = Stopwatch.StartNew();
            var until = DateTime.UtcNow + storm;
            var stormRun = new ChaosStorm(lab, view, tally, seed, output);
            var faults = new ChaosFaults(lab, view, tally, seed, options.Nodes, output, clock);
            output.WriteLine($"» storm: ADD/DEL through the plugin on every node while faults are injected");
            await Task.WhenAll(stormRun.RunAsync(options.Nodes, options.ChaosWorkers, until, cancellationToken), faults.RunAsync(until, cancellationToken));
            output.WriteLine($"» faults cleared; every daemon serving");
            await faults.ClearAsync(cancellationToken);
            await new ChaosAudit(lab, view, tally, stormRun, options.Nodes, output).RunAsync(cancellationToken);
            exit = Report(tally, output);
        }
        catch (LabStepException ex)
        {
            output.WriteLine($"FAIL at step \"{ex.Step}\": {ex.InnerException?.Message ?? ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or HttpRequestException)
        {
            output.WriteLine($"FAIL: the chaos run broke: {ex}");
        }
        finally
        {
            if (exit != 0)
            {
                var logs = Path.Combine(Path.GetTempPath(), $"vpclab-chaos-{seed}-logs");
                lab.SaveLogs(logs);
                output.WriteLine($"  daemon and plugin logs kept in {logs}");
            }

            output.WriteLine("» tear down");
            await lab.DisposeAsync();
            var left = LabFabric.RemoveAll();
            output.WriteLine(left.Count == 0 ? "  nothing left behind" : $"  removed leftovers: {string.Join(", ", left)}");
        }

        return exit;
    }

    private static int Report(ChaosTally tally, TextWriter output)
    {
        output.WriteLine($"  faults: {string.Join(", ", tally.FaultsByKind.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value}"))}");
        output.WriteLine($"  ADDs: {tally.AddsAttempted} attempted, {tally.AddsAcknowledged} acknowledged; DELs: {tally.Dels} done, {tally.DelRetries} retried");
        foreach (var (cause, count) in tally.AddFailuresByCause.OrderByDescending(f => f.Value))
        {
            output.WriteLine($"  ADD failed {count}×: {cause}");
        }

        output.WriteLine(
            $"chaos: {tally.Kills} kills, {tally.Faults} faults, {tally.AddsAcknowledged} ADDs acknowledged, {tally.Count(ChaosProblem.Lost)} lost, " +
            $"{tally.Count(ChaosProblem.Duplicated)} duplicated, {tally.Count(ChaosProblem.LeakedEni)} leaked ENIs, {tally.Count(ChaosProblem.LeakedHostLink)} leaked host links");
        var problems = tally.Problems;
        if (problems.Count == 0)
        {
            output.WriteLine("PASS: nothing lost, duplicated or leaked.");
            return 0;
        }

        foreach (var group in problems.GroupBy(p => p.Kind))
        {
            output.WriteLine($"FAIL: {group.Count()} {group.Key}{(group.Count() == 1 ? "" : "s")}");
            foreach (var (_, detail) in group.Take(10))
            {
                output.WriteLine($"  - {detail}");
            }
        }

        return 1;
    }
}
