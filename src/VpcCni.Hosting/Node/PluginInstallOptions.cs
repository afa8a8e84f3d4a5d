namespace VpcCni.Hosting.Node;

/// <summary>
/// What the node installer writes: the conflist's plugin settings, read from upstream's variable names
/// (the entrypoint's validation rules, with errors naming the variable).
/// </summary>
public sealed record PluginInstallOptions
{
    public const string ConflistFileName = "10-aws.conflist";

    /// <summary>The network name; upstream's, so checkpoint keys (network, container, ifname) carry over.</summary>
    public string NetworkName { get; init; } = "aws-cni";

    /// <summary>The plugin's executable name (the conflist "type").</summary>
    public string PluginType { get; init; } = "vpc-cni";

    public string CniVersion { get; init; } = VpcCni.Cni.CniVersion.V0_4_0;

    /// <summary>AWS_VPC_K8S_CNI_VETHPREFIX.</summary>
    public string VethPrefix { get; init; } = "eni";

    /// <summary>POD_MTU, defaulting to AWS_VPC_ENI_MTU.</summary>
    public int PodMtu { get; init; } = 9001;

    /// <summary>POD_SECURITY_GROUP_ENFORCING_MODE.</summary>
    public string PodSGEnforcingMode { get; init; } = "strict";

    /// <summary>AWS_VPC_K8S_PLUGIN_LOG_FILE.</summary>
    public string PluginLogFile { get; init; } = "/var/log/aws-routed-eni/plugin.log";

    /// <summary>AWS_VPC_K8S_PLUGIN_LOG_LEVEL.</summary>
    public string PluginLogLevel { get; init; } = "Debug";

    /// <summary>ENABLE_BANDWIDTH_PLUGIN: append Debian/upstream's bandwidth plugin.</summary>
    public bool EnableBandwidthPlugin { get; init; }

    /// <summary>Chain portmap after the plugin (hostPort support), as upstream does.</summary>
    public bool EnablePortmap { get; init; } = true;

    /// <summary>The daemon's socket the plugin dials (written as the conflist's ipamdAddress).</summary>
    public string IpamdAddress { get; init; } = Rpc.IpamdChannel.DefaultSocketPath;

    /// <summary>Reads the upstream variables; a bad value is an <see cref="ArgumentException"/> naming the variable.</summary>
    public static PluginInstallOptions FromEnvironment(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var options = new PluginInstallOptions();
        var prefix = get("AWS_VPC_K8S_CNI_VETHPREFIX");
        if (prefix is not null)
        {
            if (prefix.Length is 0 or > 4 || prefix is "eth" or "lo" or "vlan" || !prefix.All(char.IsAsciiLetterOrDigit))
            {
                throw new ArgumentException($"AWS_VPC_K8S_CNI_VETHPREFIX \"{prefix}\" must be 1 to 4 letters or digits and not eth, lo or vlan");
            }

            options = options with { VethPrefix = prefix };
        }

        var eniMtu = ReadMtu(get, "AWS_VPC_ENI_MTU") ?? 9001;
        options = options with { PodMtu = ReadMtu(get, "POD_MTU") ?? eniMtu };

        var mode = get("POD_SECURITY_GROUP_ENFORCING_MODE");
        if (!string.IsNullOrEmpty(mode))
        {
            options = mode is "strict" or "standard"
                ? options with { PodSGEnforcingMode = mode }
                : throw new ArgumentException($"POD_SECURITY_GROUP_ENFORCING_MODE \"{mode}\" must be strict or standard");
        }

        var logFile = get("AWS_VPC_K8S_PLUGIN_LOG_FILE");
        if (!string.IsNullOrEmpty(logFile))
        {
            options = logFile == "stdout"
                ? throw new ArgumentException("AWS_VPC_K8S_PLUGIN_LOG_FILE cannot be stdout: the plugin's stdout carries the CNI protocol")
                : options with { PluginLogFile = logFile };
        }

        var level = get("AWS_VPC_K8S_PLUGIN_LOG_LEVEL");
        if (!string.IsNullOrEmpty(level))
        {
            options = options with { PluginLogLevel = level };
        }

        return options with { EnableBandwidthPlugin = ReadBool(get, "ENABLE_BANDWIDTH_PLUGIN", false) };
    }

    internal static bool ReadBool(Func<string, string?> get, string name, bool defaultValue)
    {
        var text = get(name);
        return string.IsNullOrEmpty(text) ? defaultValue : text.ToUpperInvariant() switch
        {
            "1" or "T" or "TRUE" => true,
            "0" or "F" or "FALSE" => false,
            _ => throw new ArgumentException($"{name} \"{text}\" is not a boolean (true/false/1/0)"),
        };
    }

    private static int? ReadMtu(Func<string, string?> get, string name)
    {
        var text = get(name);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mtu) && mtu is >= 576 and <= 9001
            ? mtu
            : throw new ArgumentException($"{name} \"{text}\" must be an integer from 576 to 9001");
    }
}
