using VpcCni.Cloud;
using VpcCni.Configuration;

namespace VpcCni.Ipam.Tests.Configuration;

public sealed class IpamUpstreamVariablesTests
{
    private static IpamOptions Bind(params (string Name, string Value)[] variables)
    {
        var options = new IpamOptions();
        IpamUpstreamVariables.Bind(options, EnvironmentReader.From(variables.ToDictionary(v => v.Name, v => v.Value)));
        return options;
    }

    [Fact]
    public void Bind_BothFamiliesTrue_RefusedNamingEnableIPv6()
    {
        var act = () => Bind(("ENABLE_IPv4", "true"), ("ENABLE_IPv6", "true"), ("ENABLE_PREFIX_DELEGATION", "true"));
        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("ENABLE_IPv6");
    }

    [Fact]
    public void Bind_BothFamiliesFalse_RefusedNamingEnableIPv4()
    {
        var act = () => Bind(("ENABLE_IPv4", "false"), ("ENABLE_IPv6", "false"));
        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("ENABLE_IPv4");
    }

    [Fact]
    public void Bind_IPv6WithoutPrefixDelegation_RefusedNamingPrefixDelegation()
    {
        var act = () => Bind(("ENABLE_IPv4", "false"), ("ENABLE_IPv6", "true"));
        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("ENABLE_PREFIX_DELEGATION");
    }

    [Fact]
    public void Bind_IPv6WithCustomNetworking_RefusedNamingCustomNetworking()
    {
        var act = () => Bind(("ENABLE_IPv4", "false"), ("ENABLE_IPv6", "true"), ("ENABLE_PREFIX_DELEGATION", "true"),
            ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"));
        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG");
    }

    [Fact]
    public void Bind_IPv6WithPrefixDelegation_Accepted()
    {
        var options = Bind(("ENABLE_IPv4", "false"), ("ENABLE_IPv6", "true"), ("ENABLE_PREFIX_DELEGATION", "true"), ("WARM_PREFIX_TARGET", "1"));
        options.EnableIPv6.Should().BeTrue();
        options.EnablePrefixDelegation.Should().BeTrue();
    }

    [Fact]
    public void Bind_Defaults_IPv4()
    {
        Bind().EnableIPv6.Should().BeFalse();
    }

    [Fact]
    public void ThrowIfUnsupportedOn_IPv6OnXen_RefusedNamingEnableIPv6()
    {
        var options = new IpamOptions { EnableIPv6 = true, EnablePrefixDelegation = true };
        var act = () => IpamConfigRules.ThrowIfUnsupportedOn(options, new InstanceLimits("m4.large", 2, 10) { Hypervisor = "xen" });
        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("ENABLE_IPv6");
    }

    [Fact]
    public void ThrowIfUnsupportedOn_IPv6OnNitroOrBareMetal_Accepted()
    {
        var options = new IpamOptions { EnableIPv6 = true, EnablePrefixDelegation = true };
        IpamConfigRules.ThrowIfUnsupportedOn(options, new InstanceLimits("m5.large", 3, 10));
        IpamConfigRules.ThrowIfUnsupportedOn(options, new InstanceLimits("i3.metal", 15, 50) { Hypervisor = "", IsBareMetal = true });
    }

    [Fact]
    public void ThrowIfUnsupportedOn_IPv4PrefixDelegationOnXen_NotRefused()
    {
        // IPv4 only warns and falls back to secondary IPs (PoolController), as upstream.
        var options = new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 };
        IpamConfigRules.ThrowIfUnsupportedOn(options, new InstanceLimits("m4.large", 2, 10) { Hypervisor = "xen" });
    }
}
