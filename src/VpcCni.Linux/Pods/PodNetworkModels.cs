using System.Net;
using System.Net.NetworkInformation;

namespace VpcCni.Linux.Pods;

/// <summary>What the CNI plugin asks for: one pod interface with one address.</summary>
/// <param name="PodNamespacePath">CNI_NETNS, e.g. /var/run/netns/cni-… or /proc/PID/ns/net.</param>
/// <param name="KubernetesNamespace">K8S_POD_NAMESPACE (part of the host veth name hash).</param>
/// <param name="PodName">K8S_POD_NAME.</param>
/// <param name="InterfaceName">CNI_IFNAME (container end).</param>
/// <param name="Address">The pod address (IPv4 gets /32, IPv6 /128).</param>
/// <param name="RouteTable">The ENI's route table; 0, 1 and 254 mean main.</param>
public sealed record PodNetworkRequest(
    string PodNamespacePath,
    string KubernetesNamespace,
    string PodName,
    string InterfaceName,
    IPAddress Address,
    int RouteTable)
{
    /// <summary>Pod MTU (POD_MTU).</summary>
    public int Mtu { get; init; } = 9001;

    /// <summary>Interface index for multi-homed pods (0 for the first/only interface).</summary>
    public int InterfaceIndex { get; init; }
}

/// <summary>What setup created.</summary>
public sealed record PodNetworkSetupResult(string HostVethName, PhysicalAddress HostVethMac, int HostVethIndex, PhysicalAddress? ContainerMac, int ContainerIndex);

/// <summary>The steps of pod setup, in order (for failure injection and error messages).</summary>
public enum PodSetupStep
{
    RemoveStaleHostVeth,
    CreateVeth,
    ConfigureHostVeth,
    ConfigureContainerLink,
    AddContainerRoutes,
    AddContainerAddress,
    AddGatewayNeighbor,
    AddHostRoute,
    AddToPodRule,
    AddFromPodRule,
}

/// <summary>Options of the pod datapath.</summary>
public sealed record PodNetworkOptions
{
    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX (≤ 4 characters so names fit in 15).</summary>
    public string VethPrefix { get; init; } = "eni";
}

/// <summary>A setup step failed; everything done before it was rolled back.</summary>
public sealed class PodNetworkSetupException : Exception
{
    public PodNetworkSetupException(PodSetupStep step, string message, Exception inner)
        : base($"Pod network setup failed at {step}: {message}", inner) => Step = step;

    public PodSetupStep Step { get; }
}
