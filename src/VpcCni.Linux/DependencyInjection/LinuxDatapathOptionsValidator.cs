using Microsoft.Extensions.Options;
using VpcCni.Cni;

namespace VpcCni.Linux;

/// <summary>Rejects invalid datapath settings at start, naming the variable.</summary>
internal sealed class LinuxDatapathOptionsValidator : IValidateOptions<LinuxDatapathOptions>
{
    public ValidateOptionsResult Validate(string? name, LinuxDatapathOptions options)
    {
        var errors = new List<string>();
        if (!VpcCniPluginConfig.IsValidVethPrefix(options.VethPrefix))
        {
            errors.Add($"AWS_VPC_K8S_CNI_VETHPREFIX=\"{options.VethPrefix}\": {VpcCniPluginConfig.VethPrefixRule}");
        }

        if (!Enum.IsDefined(options.NetfilterBackend))
        {
            errors.Add($"VPC_CNI_NETFILTER_BACKEND must be auto, iptables or nftables (got {options.NetfilterBackend}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
