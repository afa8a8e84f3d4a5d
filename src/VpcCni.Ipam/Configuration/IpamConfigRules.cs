using VpcCni.Cloud;
using VpcCni.Configuration;

namespace VpcCni.Ipam;

/// <summary>
/// The half of upstream's isConfigValid that needs the instance type: IPv6 needs prefix delegation, which needs the Nitro
/// hypervisor or bare metal. (IPv4 with prefix delegation on another type only warns and falls back to secondary IPs,
/// in <see cref="PoolController"/>, as upstream.)
/// </summary>
public static class IpamConfigRules
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming ENABLE_IPv6 when the instance type cannot run it.</summary>
    public static void ThrowIfUnsupportedOn(IpamOptions options, InstanceLimits limits)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        if (options.EnableIPv6 && !limits.SupportsPrefixDelegation)
        {
            throw new InvalidSettingException("ENABLE_IPv6", "true",
                $"instance type {limits.InstanceType} is neither Nitro nor bare metal, so it has no prefix delegation, which IPv6 mode needs");
        }
    }
}
