using System.Text.Json;
using System.Text.Json.Serialization;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>The converged pool for N pods (<c>vpc-cni-ipamd plan</c>).</summary>
/// <param name="Enis">Attached ENIs.</param>
/// <param name="IpsPerEni">Pod addresses per ENI, by device number (SIP: /32s; PD: 16 per prefix).</param>
/// <param name="Prefixes">Attached /28 prefixes (0 in secondary-IP mode).</param>
/// <param name="PrefixesPerEni">Prefixes per ENI, by device number.</param>
/// <param name="TotalIps">Pod addresses in the pool.</param>
/// <param name="AssignedIps">Addresses held by the N pods (fewer when the node cannot hold N).</param>
/// <param name="UnusedIps">Total − assigned.</param>
public sealed record PlanResult(
    int Enis,
    IReadOnlyList<int> IpsPerEni,
    int Prefixes,
    IReadOnlyList<int> PrefixesPerEni,
    int TotalIps,
    int AssignedIps,
    int UnusedIps)
{
    /// <summary>Pods asked for (<c>--pods</c>).</summary>
    public int RequestedPods { get; init; }

    /// <summary>Pods that got an address and that the node admits (at most max pods); equals <see cref="AssignedIps"/>.</summary>
    public int PlacedPods { get; init; }

    /// <summary>Max pods the plan ran with (<see cref="IpamOptions.MaxPods"/>, else the mode's default).</summary>
    public int MaxPods { get; init; }

    /// <summary>
    /// Why some pods were not placed, starting with <c>max pods</c>, <c>ENI limit</c> or <c>subnet full</c> (else the
    /// engine's failure); null when every pod was placed.
    /// </summary>
    public string? UnplacedReason { get; init; }

    /// <summary>
    /// <c>{"enis":…,"ipsPerEni":[…],"prefixes":…,"prefixesPerEni":[…],"totalIps":…,"assignedIps":…,"unusedIps":…,
    /// "requestedPods":…,"placedPods":…,"maxPods":…,"unplacedReason":…|null}</c></summary>
    public string ToJson() => JsonSerializer.Serialize(this, PlanningJsonContext.Default.PlanResult);
}

/// <summary>
/// Computes the converged pool by actually running the controller and policy: an in-memory cloud with the
/// instance's limits, pods added one by one with a pool round after each, then rounds (with time passing for
/// throttles and ENI age) until the policy wants nothing more.
/// </summary>
public static class PoolPlanner
{
    /// <summary>Plans <paramref name="pods"/> pods on an instance type with the given options.</summary>
    /// <exception cref="ArgumentException">Invalid options (message names the variable) or a negative pod count.</exception>
    public static PlanResult Plan(InstanceLimits limits, IpamOptions options, int pods) => Plan(limits, options, pods, DefaultSubnetFreeAddresses);

    /// <summary>Plans <paramref name="pods"/> pods in a subnet with <paramref name="subnetFreeAddresses"/> free addresses.</summary>
    /// <exception cref="ArgumentException">Invalid options (message names the variable), a negative pod count or subnet size.</exception>
    public static PlanResult Plan(InstanceLimits limits, IpamOptions options, int pods, int subnetFreeAddresses)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        if (pods < 0)
        {
            throw new ArgumentException($"--pods must be 0 or more (got {pods}).", nameof(pods));
        }

        if (subnetFreeAddresses < 0)
        {
            throw new ArgumentException($"the subnet's free addresses must be 0 or more (got {subnetFreeAddresses}).", nameof(subnetFreeAddresses));
        }

        var time = new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var planningOptions = options.With(o => o.IpCooldownPeriod = TimeSpan.Zero);
        using var controller = new PoolController(new InMemoryPlanningCloud(limits, subnetFreeAddresses), planningOptions, time, null, null, null, 0, inlineSignals: true);
        RunToCompletion(controller.InitializeAsync(CancellationToken.None));
        var maxPods = controller.Limits.MaxPods;
        var assigned = 0;
        string? unplaced = null;
        for (var i = 0; i < pods; i++)
        {
            // The kubelet admits no more than max pods, however many addresses the pool holds (PD rounds up to a /28).
            if (assigned >= maxPods)
            {
                unplaced ??= $"max pods ({maxPods})";
                break;
            }

            var result = RunToCompletion(controller.AssignAsync(new AttachmentKey("plan", $"pod-{i}", "eth0"), PodMetadata.None, CancellationToken.None).AsTask());
            if (result.Succeeded)
            {
                assigned++;
            }
            else
            {
                unplaced ??= Explain(result, controller, limits);
            }

            RunToCompletion(controller.RunPoolRoundAsync(CancellationToken.None));
        }

        for (var i = 0; i < 20; i++)
        {
            time.Advance(TimeSpan.FromSeconds(61));
            if (RunToCompletion(controller.RunPoolRoundAsync(CancellationToken.None)).IsEmpty && controller.Decide().IsEmpty)
            {
                break;
            }
        }

        var enis = controller.Datastore.GetEniStates();
        var stats = controller.Datastore.GetStats();
        var pd = controller.Options.EnablePrefixDelegation;
        return new PlanResult(
            enis.Count,
            [.. enis.Select(e => e.Addresses)],
            pd ? stats.TotalPrefixes : 0,
            pd ? [.. enis.Select(e => e.Cidrs)] : [.. enis.Select(_ => 0)],
            stats.TotalIPs,
            assigned,
            stats.TotalIPs - stats.AssignedIPs)
        {
            RequestedPods = pods,
            PlacedPods = assigned,
            MaxPods = maxPods,
            UnplacedReason = assigned < pods ? unplaced ?? "not placed" : null,
        };
    }

    /// <summary>Free addresses of the planning subnet by default: enough never to be the limit.</summary>
    public const int DefaultSubnetFreeAddresses = 60000;

    private static string Explain(AssignResult result, PoolController controller, InstanceLimits instance)
    {
        var limits = controller.Limits;
        var pd = controller.Options.EnablePrefixDelegation;
        return result.Failure switch
        {
            AssignFailureReason.MaxPodsReached => $"max pods ({limits.MaxPods})",
            AssignFailureReason.NoRoom => pd
                ? $"ENI limit ({limits.MaxEnis} ENIs × {limits.CidrsPerEni} prefixes × {UpstreamPoolPolicy.AddressesPerPrefix} addresses on {instance.InstanceType}{PrimaryNote(limits)})"
                : $"ENI limit ({limits.MaxEnis} ENIs × {limits.CidrsPerEni} addresses on {instance.InstanceType}{PrimaryNote(limits)})",
            AssignFailureReason.SubnetFull => "subnet full (no free address in the subnet)",
            AssignFailureReason.NoFreePrefix => "subnet full (no free /28 block in the subnet)",
            _ => $"{result.Failure}: {result.Detail}",
        };

        static string PrimaryNote(PoolLimits limits) => limits.SkipPrimaryEni ? ", the primary ENI carrying no pods" : string.Empty;
    }

    private static T RunToCompletion<T>(Task<T> task) =>
        task.IsCompleted ? task.GetAwaiter().GetResult() : throw new InvalidOperationException("planning cloud calls must complete synchronously");

    private static void RunToCompletion(Task task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("planning cloud calls must complete synchronously");
        }

        task.GetAwaiter().GetResult();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(PlanResult))]
[JsonSerializable(typeof(WorkloadTrace))]
[JsonSerializable(typeof(SimulationReport))]
internal sealed partial class PlanningJsonContext : JsonSerializerContext;
