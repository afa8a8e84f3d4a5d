using VpcCni.Linux.Snat;

namespace VpcCni.Linux;

/// <summary>Settings of the host datapath that <see cref="LinuxServiceCollectionExtensions.AddVpcCniLinuxDatapath(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{LinuxDatapathOptions}?)"/> registers.</summary>
public sealed class LinuxDatapathOptions
{
    /// <summary><c>AWS_VPC_K8S_CNI_VETHPREFIX</c> (default eni): pod host veths are this prefix + 11 hex digits.</summary>
    public string VethPrefix { get; set; } = "eni";

    /// <summary><c>VPC_CNI_NETFILTER_BACKEND</c> (VpcCni only, default auto): iptables, nftables, or whichever the node uses.</summary>
    public ConnmarkBackend NetfilterBackend { get; set; } = ConnmarkBackend.Auto;
}
