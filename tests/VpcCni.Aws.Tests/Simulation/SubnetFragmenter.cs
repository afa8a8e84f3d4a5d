using System.Net;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Tests.Simulation;

/// <summary>Leaves a subnet with many free addresses but no free aligned /28: what makes a prefix-delegation create
/// fail with InsufficientCidrBlocks while the subnet still looks roomy.</summary>
internal static class SubnetFragmenter
{
    public static void Fragment(SimulatedVpc vpc, string subnetId)
    {
        var subnet = vpc.DescribeSubnets([subnetId])[0];
        var enis = new List<SimulatedEni>();
        for (var free = subnet.AvailableIpAddressCount; free > 0; free = vpc.DescribeSubnets([subnetId])[0].AvailableIpAddressCount)
        {
            enis.Add(vpc.CreateNetworkInterface(subnetId, "filler", null, Math.Min(49, free - 1), 0, null));
        }

        var start = SimulatedVpc.ToUInt(subnet.Cidr.BaseAddress);
        int BlockOf(IPAddress address) => (int)((SimulatedVpc.ToUInt(address) - start) / 16);
        var kept = enis.Select(e => BlockOf(e.PrimaryIPv4)).ToHashSet();
        foreach (var eni in enis)
        {
            var release = new List<IPNetwork>();
            foreach (var address in eni.SecondaryIPv4)
            {
                if (!kept.Add(BlockOf(address)))
                {
                    release.Add(new IPNetwork(address, 32));
                }
            }

            if (release.Count > 0)
            {
                vpc.UnassignPrivateIpAddresses(eni.NetworkInterfaceId, release);
            }
        }
    }
}
