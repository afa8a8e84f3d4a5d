using System.Collections.Frozen;
using VpcCni.Cloud;

namespace VpcCni.Aws.Limits;

/// <summary>One instance type of the embedded table (generated from instance-limits.csv);
/// <c>MaxEnisPerCard</c> holds the maximum interfaces per network card, indexed by card.</summary>
internal sealed record InstanceLimitsRow(
    string InstanceType,
    int MaxEnis,
    int IPv4PerEni,
    int DefaultNetworkCard,
    string Hypervisor,
    bool BareMetal,
    int[] MaxEnisPerCard)
{
    public InstanceLimits ToLimits() => new(InstanceType, MaxEnis, IPv4PerEni)
    {
        NetworkCards = MaxEnisPerCard.Length,
        DefaultNetworkCardIndex = DefaultNetworkCard,
        Hypervisor = Hypervisor,
        IsBareMetal = BareMetal,
    };
}

/// <summary>The EC2 networking limits of the instance types known at build time; no EC2 call needed.</summary>
public static class InstanceLimitsCatalog
{
    private static readonly FrozenDictionary<string, InstanceLimits> ByType =
        InstanceLimitsTable.Rows.ToFrozenDictionary(r => r.InstanceType, r => r.ToLimits(), StringComparer.Ordinal);

    /// <summary>Number of instance types in the table.</summary>
    public static int Count => ByType.Count;

    /// <summary>Looks up an instance type (exact, e.g. <c>m5.large</c>).</summary>
    public static bool TryGet(string instanceType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InstanceLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(instanceType);
        return ByType.TryGetValue(instanceType, out limits);
    }

    /// <summary>Looks up an instance type or throws a <see cref="CloudException"/> naming it.</summary>
    public static InstanceLimits Get(string instanceType)
    {
        ArgumentNullException.ThrowIfNull(instanceType);
        return TryGet(instanceType, out var limits)
            ? limits
            : throw new CloudException(
                CloudErrorKind.NotFound,
                $"instance type '{instanceType}' is not in the embedded limits table ({Count} types); " +
                "the EC2 provider asks DescribeInstanceTypes for it, the simulated VPC cannot run it",
                "InvalidInstanceType");
    }

    /// <summary>Every known type (for planners and the emulator's --instance-type validation).</summary>
    public static IEnumerable<InstanceLimits> All => ByType.Values;
}
