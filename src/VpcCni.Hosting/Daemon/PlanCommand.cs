using VpcCni.Aws.Limits;
using VpcCni.Cloud;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// `vpc-cni-ipamd plan`: the converged pool for N pods, or a workload replay per policy (upstream's timing, VpcCni's burst
/// policy, the configuration as given, demand-aware). When not every pod can be
/// placed it says how many were and why (max pods, ENI limit, subnet full) and exits 1; usage errors exit 2.
/// </summary>
internal static class PlanCommand
{
    /// <summary>Exit code when some pods cannot be placed.</summary>
    public const int PodsNotPlaced = 1;

    public static async Task<int> RunAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var type = line.Require("instance-type");
        if (!InstanceLimitsCatalog.TryGet(type, out var limits))
        {
            throw new CommandLineException($"--instance-type \"{type}\" is not a known instance type");
        }

        var options = new IpamOptions
        {
            WarmEniTarget = line.Int("warm-eni-target") ?? 1,
            WarmIpTarget = line.Int("warm-ip-target") ?? 0,
            MinimumIpTarget = line.Int("minimum-ip-target") ?? 0,
            WarmPrefixTarget = line.Int("warm-prefix-target") ?? 0,
            EnablePrefixDelegation = line.Flag("prefix-delegation"),
            UseCustomNetworking = line.Flag("custom-networking"),
            MaxPods = line.Int("max-pods", 1, 100_000), // the node's pod capacity: the daemon's max pods when its Node says so
        };
        var validation = new IpamOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new CommandLineException(validation.FailureMessage);
        }

        var json = line.Flag("json");
        var workload = line.Get("workload");
        var svg = line.Get("svg");
        if (workload is null)
        {
            var pods = line.Int("pods", 0, 100_000) ?? throw new CommandLineException("--pods is required (or --workload FILE)");
            var subnetFree = line.Int("subnet-free-addresses", 0, 1_000_000) ?? PoolPlanner.DefaultSubnetFreeAddresses;
            line.EnsureAllUsed();
            var plan = PoolPlanner.Plan(limits, options, pods, subnetFree);
            await output.WriteLineAsync(json ? plan.ToJson() : FormatPlan(limits, options, pods, plan)).ConfigureAwait(false);
            if (plan.UnplacedReason is null)
            {
                return 0;
            }

            await error.WriteLineAsync($"plan: {plan.PlacedPods} of {plan.RequestedPods} pods placed: {plan.UnplacedReason}").ConfigureAwait(false);
            return PodsNotPlaced;
        }

        if (line.Get("subnet-free-addresses") is not null)
        {
            throw new CommandLineException("--subnet-free-addresses applies to --pods, not --workload");
        }

        line.EnsureAllUsed();
        if (!File.Exists(workload))
        {
            throw new CommandLineException($"--workload {workload}: file not found");
        }

        WorkloadTrace trace;
        try
        {
            trace = WorkloadTrace.Parse(await File.ReadAllTextAsync(workload, cancellationToken).ConfigureAwait(false));
        }
        catch (FormatException ex)
        {
            throw new CommandLineException($"--workload {workload}: {ex.Message}");
        }

        // Upstream's timing (5 s loop, one ENI per cycle, failed ADDs retried by the runtime) beside VpcCni's burst policy,
        // then the node's configuration as the daemon runs it by default and the demand-aware policy (the names earlier
        // versions printed).
        var demandAware = new IpamOptions();
        options.CopyTo(demandAware);
        demandAware.PoolPolicy = PoolPolicyKind.DemandAware;
        var reports = WorkloadSimulator.Run(trace, new SimulationSettings(limits),
            [SimulationPolicies.Upstream(options), SimulationPolicies.VpcCni(options), ("configured", options), ("demand-aware", demandAware)]);
        if (json)
        {
            await output.WriteLineAsync("[" + string.Join(",", reports.Select(r => r.ToJson())) + "]").ConfigureAwait(false);
        }
        else
        {
            await output.WriteAsync(WorkloadSimulator.FormatTable(reports)).ConfigureAwait(false);
        }

        if (svg is not null)
        {
            await File.WriteAllTextAsync(svg, SvgChart.Render(trace.Name, reports), cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }

    private static string FormatPlan(InstanceLimits limits, IpamOptions options, int pods, PlanResult plan)
    {
        var perEni = options.EnablePrefixDelegation
            ? string.Join(", ", plan.PrefixesPerEni.Select((p, i) => $"eni{i}: {p} prefixes"))
            : string.Join(", ", plan.IpsPerEni.Select((p, i) => $"eni{i}: {p} IPs"));
        return $"""
            {limits.InstanceType} ({limits.MaxEnis} ENIs × {limits.IPv4PerEni} IPv4), {pods} pods, {(options.EnablePrefixDelegation ? "prefix delegation" : "secondary IPs")}, max pods {plan.MaxPods}
            placed pods   {plan.PlacedPods} of {plan.RequestedPods}{(plan.UnplacedReason is null ? "" : $" ({plan.UnplacedReason})")}
            ENIs          {plan.Enis}
            per ENI       {perEni}
            prefixes      {plan.Prefixes}
            total IPs     {plan.TotalIps}
            assigned IPs  {plan.AssignedIps}
            unused IPs    {plan.UnusedIps}
            """;
    }
}
