using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using VpcCni.Cni;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Egress;

/// <summary>
/// One pod's egress attachment (upstream egress-cni, §4.6): a second veth into the pod whose traffic leaves SNATed to
/// the node's address of the other family. The node address's family picks the flavour: IPv4 gives an IPv6 pod IPv4
/// egress (v4if0), IPv6 gives an IPv4 pod IPv6 egress (v6if0).
/// </summary>
/// <param name="PodNamespacePath">CNI_NETNS; may be empty on teardown.</param>
/// <param name="PodInterfaceName">CNI_IFNAME, the pod's main interface (IPv6 is disabled on it for IPv6 egress).</param>
/// <param name="NetworkName">The network's name (part of the chain name and rule comment).</param>
/// <param name="ContainerId">CNI_CONTAINERID.</param>
/// <param name="NodeAddress">The SNAT source: the node's primary IPv4, or its global unicast IPv6.</param>
public sealed record EgressRequest(string PodNamespacePath, string PodInterfaceName, string NetworkName, string ContainerId, IPAddress NodeAddress)
{
    /// <summary>The address IPAM gave the egress interface (setup and check).</summary>
    public IPAddressAndPrefix? Address { get; init; }

    /// <summary>IPv4 egress: the gateway IPAM returned (the host end's address).</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>Destinations routed through the egress interface (IPAM's routes: 0.0.0.0/0 or ::/0).</summary>
    public IReadOnlyList<IPNetwork> Routes { get; init; } = [];

    /// <summary>MTU of both veth ends.</summary>
    public int Mtu { get; init; } = 9001;

    /// <summary>randomizeSNAT: prng → --random-fully (default), hashrandom → --random, none.</summary>
    public SnatRandomization Randomization { get; init; } = SnatRandomization.RandomFully;

    /// <summary>True for IPv6 egress (an IPv6 node address).</summary>
    public bool IsIPv6Egress => NodeAddress.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>The pod-side egress interface: v4if0 or v6if0.</summary>
    public string EgressInterfaceName => IsIPv6Egress ? EgressDatapath.IPv6InterfaceName : EgressDatapath.IPv4InterfaceName;
}

/// <summary>What setup made: the two veth ends (the CNI result's new interfaces).</summary>
public sealed record EgressSetupResult(string HostInterfaceName, PhysicalAddress? HostMac, string ContainerInterfaceName, PhysicalAddress? ContainerMac);
