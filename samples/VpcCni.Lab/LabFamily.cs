namespace VpcCni.Lab;

/// <summary>The address families of the lab's cluster: what the pods are addressed with, and which egress-cni flavour runs.</summary>
internal enum LabFamily
{
    /// <summary>An IPv4 cluster (the default): the five IPv4 paths.</summary>
    IPv4,

    /// <summary>An IPv4 cluster with ENABLE_V6_EGRESS: the five paths and IPv6 egress through v6if0.</summary>
    IPv4WithV6Egress,

    /// <summary>An IPv6 cluster: the IPv6 paths and IPv4 egress through v4if0.</summary>
    IPv6,
}
