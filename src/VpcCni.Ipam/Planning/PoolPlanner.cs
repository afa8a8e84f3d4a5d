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
    /// <summary><c>{"enis":…,"ipsPerEni":[…],"prefixes":…,"prefixesPerEni":[…],"totalIps":…,"assignedIps":…,"unusedIps":…}</c></summary>
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
    public static PlanResult Plan(InstanceLimits limits, IpamOptions options, int pods)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        if (pods < 0)
        {
            throw new ArgumentException($"--pods must be 0 or more (got {pods}).", nameof(pods));
        }

        var time = new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var planningOptions = options.With(o => o.IpCooldownPeriod = TimeSpan.Zero);
        using var controller = new PoolController(new InMemoryPlanningCloud(limits), planningOptions, time, null, null, null, 0, inlineSignals: true);
        RunToCompletion(controller.InitializeAsync(CancellationToken.None));
        var assigned = 0;
        for (var i = 0; i < pods; i++)
        {
            var result = RunToCompletion(controller.AssignAsync(new AttachmentKey("plan", $"pod-{i}", "eth0"), PodMetadata.None, CancellationToken.None).AsTask());
            if (result.Succeeded)
            {
                assigned++;
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
            stats.TotalIPs - stats.AssignedIPs);
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
