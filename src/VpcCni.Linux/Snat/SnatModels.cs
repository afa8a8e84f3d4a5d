using System.Net;

namespace VpcCni.Linux.Snat;

/// <summary>AWS_VPC_K8S_CNI_RANDOMIZESNAT: prng → --random-fully, hashrandom → --random, none.</summary>
public enum SnatRandomization
{
    RandomFully,
    Random,
    None,
}

/// <summary>Where the outbound connmark rules live. Auto picks like upstream: `iptables --version` containing "legacy" → iptables, else nftables.</summary>
public enum ConnmarkBackend
{
    Auto,
    Iptables,
    Nftables,
}

/// <summary>The node's SNAT/connmark intent (upstream <c>UpdateHostSNATRules</c> inputs).</summary>
/// <param name="PrimaryInterface">Name of the primary ENI link.</param>
/// <param name="PrimaryAddress">The node's primary IPv4 (SNAT source).</param>
/// <param name="VpcCidrs">VPC CIDRs (traffic to them keeps the pod address).</param>
public sealed record SnatConfiguration(string PrimaryInterface, IPAddress PrimaryAddress, IReadOnlyList<IPNetwork> VpcCidrs)
{
    /// <summary>AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS.</summary>
    public IReadOnlyList<IPNetwork> ExcludedCidrs { get; init; } = [];

    /// <summary>AWS_VPC_K8S_CNI_EXTERNALSNAT: no SNAT and no outbound connmark on the node.</summary>
    public bool ExternalSnat { get; init; }

    public SnatRandomization Randomization { get; init; } = SnatRandomization.RandomFully;

    /// <summary>AWS_VPC_K8S_CNI_CONNMARK.</summary>
    public uint ConnectionMark { get; init; } = 0x80;

    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX.</summary>
    public string VethPrefix { get; init; } = "eni";

    /// <summary>AWS_VPC_CNI_NODE_PORT_SUPPORT.</summary>
    public bool NodePortSupport { get; init; } = true;
}

/// <summary>External tools used for netfilter (run inside the target namespace).</summary>
public sealed record NetfilterTools
{
    public string Iptables { get; init; } = "iptables";

    public string IptablesSave { get; init; } = "iptables-save";

    public string IptablesRestore { get; init; } = "iptables-restore";

    /// <summary>IPv6 egress (egress-cni) only.</summary>
    public string Ip6tables { get; init; } = "ip6tables";

    /// <summary>IPv6 egress (egress-cni) only.</summary>
    public string Ip6tablesRestore { get; init; } = "ip6tables-restore";

    public string Nft { get; init; } = "nft";
}

/// <summary>What a reconcile did.</summary>
public sealed record SnatReconcileResult(ConnmarkBackend Backend, bool IptablesChanged, bool NftablesChanged)
{
    public bool Changed => IptablesChanged || NftablesChanged;
}

/// <summary>A netfilter tool failed.</summary>
public sealed class NetfilterException : Exception
{
    public NetfilterException(string tool, int exitCode, string error)
        : base($"{tool} exited with {exitCode}: {error.Trim()}")
    {
        Tool = tool;
        ExitCode = exitCode;
    }

    public string Tool { get; }

    public int ExitCode { get; }
}
