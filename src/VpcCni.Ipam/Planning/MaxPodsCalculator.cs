using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>Inputs of <see cref="MaxPodsCalculator.Calculate"/> beyond the instance limits.</summary>
/// <param name="PrefixDelegation">ENABLE_PREFIX_DELEGATION (applies only on Nitro or bare metal types).</param>
/// <param name="CustomNetworking">AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: the primary ENI carries no pods.</param>
/// <param name="MaxEni">MAX_ENI: use at most this many ENIs (null or &lt; 1: the instance limit).</param>
/// <param name="VCpus">vCPUs of the type; when known the EKS calculator's ceiling applies (110, or 250 above 30 vCPUs).</param>
public sealed record MaxPodsOptions(bool PrefixDelegation = false, bool CustomNetworking = false, int? MaxEni = null, int? VCpus = null);

/// <summary>
/// Max pods per node. Rules:
/// <list type="bullet">
/// <item>Secondary-IP mode: ENIs × (IPv4 per ENI − 1) + 2 — exactly upstream's <c>misc/eni-max-pods.txt</c> (the +2 is
/// for the host-network pods aws-node and kube-proxy; only the default network card counts).</item>
/// <item>Prefix delegation (Nitro or bare metal): ENIs × (IPv4 per ENI − 1) × 16 + 2 (EKS max-pods calculator).</item>
/// <item>MAX_ENI lowers the ENI count; custom networking subtracts the primary ENI.</item>
/// <item>When the vCPU count is known the EKS calculator's recommended ceiling applies: 110 for ≤ 30 vCPUs, else 250.
/// Without it (as in eni-max-pods.txt) there is no ceiling.</item>
/// </list>
/// </summary>
public static class MaxPodsCalculator
{
    /// <summary>Upstream's eni-max-pods.txt figure.</summary>
    public static int SecondaryIp(InstanceLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return limits.MaxEnis * (limits.IPv4PerEni - 1) + 2;
    }

    /// <summary>
    /// Pod addresses the instance's ENIs can hold in the given mode: usable ENIs × (IPv4 per ENI − 1), × 16 with prefix
    /// delegation (MAX_ENI and custom networking lower the ENI count; the vCPU cap does not apply).
    /// </summary>
    public static int AddressCapacity(InstanceLimits limits, MaxPodsOptions options)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var enis = options.MaxEni is >= 1 ? Math.Min(options.MaxEni.Value, limits.MaxEnis) : limits.MaxEnis;
        if (options.CustomNetworking)
        {
            enis = Math.Max(0, enis - 1);
        }

        var perEni = limits.IPv4PerEni - 1;
        return options.PrefixDelegation && limits.SupportsPrefixDelegation
            ? enis * perEni * UpstreamPoolPolicy.AddressesPerPrefix
            : enis * perEni;
    }

    /// <summary>
    /// The engine's max pods when nothing says otherwise (no <see cref="IpamOptions.MaxPods"/>, no node capacity):
    /// the figure a node set up for this mode advertises. Secondary IPs: eni-max-pods.txt; custom networking or prefix
    /// delegation: <see cref="Calculate"/> for that mode. Upstream falls back to eni-max-pods.txt in every mode, which
    /// in prefix-delegation mode stops the pool below one prefix beyond the first (docs/upstream-differences.md).
    /// </summary>
    public static int Default(InstanceLimits limits, bool prefixDelegation, bool customNetworking)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return prefixDelegation || customNetworking
            ? Calculate(limits, new MaxPodsOptions(prefixDelegation, customNetworking))
            : SecondaryIp(limits);
    }

    /// <summary>Max pods for the given mode.</summary>
    public static int Calculate(InstanceLimits limits, MaxPodsOptions options)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        var maxPods = AddressCapacity(limits, options) + 2;
        var cpus = options.VCpus ?? limits.VCpus;
        if (cpus is { } c)
        {
            maxPods = Math.Min(maxPods, c > 30 ? 250 : 110);
        }

        return maxPods;
    }
}
