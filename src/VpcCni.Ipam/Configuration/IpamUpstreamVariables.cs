using VpcCni.Configuration;

namespace VpcCni.Ipam;

/// <summary>
/// Upstream's variable names for the IPAM settings (WARM_ENI_TARGET, WARM_IP_TARGET, ...), read with upstream's
/// formats from any key/value source. A value that does not parse throws <see cref="InvalidSettingException"/> naming
/// the variable; range rules are <see cref="IpamOptionsValidator"/>'s.
/// </summary>
public static class IpamUpstreamVariables
{
    /// <summary>Writes the IPAM variables found in <paramref name="variables"/> into <paramref name="options"/>.</summary>
    public static void Bind(IpamOptions options, EnvironmentReader variables)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(variables);
        options.WarmEniTarget = variables.Int("WARM_ENI_TARGET", 1);
        options.WarmIpTarget = variables.Int("WARM_IP_TARGET", 0);
        options.MinimumIpTarget = variables.Int("MINIMUM_IP_TARGET", 0);
        options.WarmPrefixTarget = variables.Int("WARM_PREFIX_TARGET", 0);
        options.EnablePrefixDelegation = variables.Bool("ENABLE_PREFIX_DELEGATION", false);
        options.MaxEni = variables.Int("MAX_ENI", -1, min: -1);
        options.IpCooldownPeriod = variables.Seconds("IP_COOLDOWN_PERIOD", TimeSpan.FromSeconds(30));
        options.UseCustomNetworking = variables.Bool("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", false);
        options.EnablePodEni = variables.Bool("ENABLE_POD_ENI", false);
        options.ManageUntaggedEni = variables.Bool("MANAGE_UNTAGGED_ENI", true);
        options.EnableSubnetDiscovery = variables.Bool("ENABLE_SUBNET_DISCOVERY", true);
        options.PoolPolicy = variables.OneOf("VPC_CNI_POOL_POLICY", "Upstream", "Upstream", "DemandAware", "Burst") switch
        {
            "DemandAware" => PoolPolicyKind.DemandAware,
            "Burst" => PoolPolicyKind.Burst,
            _ => PoolPolicyKind.Upstream,
        };
        options.AssignWaitTimeout = variables.Seconds("VPC_CNI_ASSIGN_WAIT", TimeSpan.FromSeconds(3));
        options.CountCoolingAsAvailable = variables.Bool("VPC_CNI_COUNT_COOLING_AS_AVAILABLE", false);
        // The node's pod capacity before (or without) the Kubernetes API; the Node's capacity replaces it once read.
        var maxPods = variables.Int("VPC_CNI_MAX_PODS", 0, min: 0, max: 100_000);
        options.MaxPods = maxPods == 0 ? options.MaxPods : maxPods;
        if (variables.String("AWS_VPC_K8S_CNI_BACKING_STORE") is { } path)
        {
            options.BackingStorePath = path;
        }

        // Upstream's isConfigValid (the instance-type half is IpamConfigRules.ThrowIfUnsupportedOn, at start).
        options.EnableIPv6 = variables.Bool("ENABLE_IPv6", false);
        var ipv4 = variables.Bool("ENABLE_IPv4", true);
        if (ipv4 && options.EnableIPv6)
        {
            throw new InvalidSettingException("ENABLE_IPv6", "true", "ENABLE_IPv4 and ENABLE_IPv6 are both true; exactly one of them must be true");
        }

        if (!ipv4 && !options.EnableIPv6)
        {
            throw new InvalidSettingException("ENABLE_IPv4", "false", "ENABLE_IPv4 and ENABLE_IPv6 are both false; exactly one of them must be true");
        }

        if (options.EnableIPv6 && !options.EnablePrefixDelegation)
        {
            throw new InvalidSettingException("ENABLE_PREFIX_DELEGATION", variables.String("ENABLE_PREFIX_DELEGATION") ?? "",
                "ENABLE_IPv6=true needs ENABLE_PREFIX_DELEGATION=true (pods take addresses from the ENI's IPv6 /80 prefix)");
        }

        if (options.EnableIPv6 && options.UseCustomNetworking)
        {
            throw new InvalidSettingException("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true", "custom networking cannot be used with ENABLE_IPv6=true");
        }
    }
}
