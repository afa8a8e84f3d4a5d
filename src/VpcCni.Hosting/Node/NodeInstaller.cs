using VpcCni.Configuration;
using System.Buffers;
using System.Text.Json;
using VpcCni.IO;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Sysctl;

namespace VpcCni.Hosting.Node;

/// <summary>
/// What upstream's init container and entrypoint do on a node: put the plugin binary into the CNI bin directory,
/// write the conflist, and set the host sysctls — each file replaced atomically.
/// </summary>
public static class NodeInstaller
{
    /// <summary>Copies the plugin executable into <paramref name="cniBinDirectory"/> atomically; returns the destination.</summary>
    public static string InstallPlugin(string pluginSource, string cniBinDirectory, string pluginType = "vpc-cni")
    {
        if (!File.Exists(pluginSource))
        {
            throw new FileNotFoundException($"plugin binary {pluginSource} not found", pluginSource);
        }

        var destination = Path.Combine(cniBinDirectory, pluginType);
        AtomicFile.Copy(pluginSource, destination);
        return destination;
    }

    /// <summary>upstream's second plugin (egress-cni), published next to ours; its conflist "type".</summary>
    internal const string EgressPluginType = "egress-cni";

    /// <summary>
    /// Installs egress-cni from <paramref name="egressSource"/>, or from the directory of <paramref name="pluginSource"/>
    /// when null (as upstream's entrypoint installs both plugins); returns the destination. The conflist always chains
    /// egress-cni, so a missing binary is a <see cref="FileNotFoundException"/> saying so.
    /// </summary>
    internal static string InstallEgressPlugin(string pluginSource, string? egressSource, string cniBinDirectory)
    {
        var source = egressSource ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(pluginSource)) ?? ".", EgressPluginType);
        if (!File.Exists(source))
        {
            throw new FileNotFoundException(
                $"{EgressPluginType} binary {source} not found: the conflist always chains {EgressPluginType} (disabled unless ENABLE_IPv6 or ENABLE_V6_EGRESS), "
                + $"so init installs it {(egressSource is null ? "from beside --plugin-source" : "from --egress-plugin-source")}",
                source);
        }

        return InstallPlugin(source, cniBinDirectory, EgressPluginType);
    }

    /// <summary>
    /// Debian's containernetworking-plugins directory, where the node image carries the reference plugins the conflist
    /// chains (upstream's init image ships its own copies and installs them the same way).
    /// </summary>
    internal const string DefaultChainedPluginsDirectory = "/usr/lib/cni";

    /// <summary>
    /// The reference plugins the conflist needs besides ours, in order: host-local when it has an egress entry (that
    /// entry's IPAM, as upstream's init copies it: even a disabled entry names it, and runtimes that validate a conflist
    /// through libcni look every named plugin up), portmap, then bandwidth when enabled.
    /// </summary>
    internal static IReadOnlyList<string> ChainedPluginTypes(PluginInstallOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var types = new List<string>(3);
        if (options.Egress is not null)
        {
            types.Add("host-local");
        }

        if (options.EnablePortmap)
        {
            types.Add("portmap");
        }

        if (options.EnableBandwidthPlugin)
        {
            types.Add("bandwidth");
        }

        return types;
    }

    /// <summary>
    /// Copies each chained plugin (<see cref="ChainedPluginTypes"/>) from <paramref name="sourceDirectory"/> into
    /// <paramref name="cniBinDirectory"/> atomically, so the runtime finds every type the conflist names; returns the destinations.
    /// </summary>
    internal static IReadOnlyList<string> InstallChainedPlugins(PluginInstallOptions options, string sourceDirectory, string cniBinDirectory) =>
        [.. ChainedPluginTypes(options).Select(type => InstallPlugin(Path.Combine(sourceDirectory, type), cniBinDirectory, type))];

    /// <summary>
    /// Fills the egress entry's nodeIP as upstream's entrypoint: an IPv6 cluster's is the node's IPv4 (IMDS local-ipv4,
    /// required: a failure propagates); an IPv4 cluster's, only when enabled, the node's IPv6 (IMDS ipv6), and a node
    /// without one gets the entry disabled, with a warning on <paramref name="warnings"/>. No egress entry: unchanged.
    /// </summary>
    public static async Task<PluginInstallOptions> ResolveEgressNodeIPAsync(
        PluginInstallOptions options,
        Func<CancellationToken, Task<System.Net.IPAddress>> localIPv4,
        Func<CancellationToken, Task<System.Net.IPAddress?>> ipv6,
        TextWriter? warnings,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(localIPv4);
        ArgumentNullException.ThrowIfNull(ipv6);
        if (options.Egress is not { } egress)
        {
            return options;
        }

        if (egress.IPv6Cluster)
        {
            var address = await localIPv4(cancellationToken).ConfigureAwait(false);
            return options with { Egress = egress with { NodeIP = address.ToString() } };
        }

        if (!egress.Enabled)
        {
            return options;
        }

        if (await ipv6(cancellationToken).ConfigureAwait(false) is { } nodeIPv6)
        {
            return options with { Egress = egress with { NodeIP = nodeIPv6.ToString() } };
        }

        if (warnings is not null)
        {
            await warnings.WriteLineAsync("warning: ENABLE_V6_EGRESS=true but the node has no IPv6 address in IMDS; the egress plugin is written disabled").ConfigureAwait(false);
        }

        return options with { Egress = egress with { Enabled = false } };
    }

    /// <summary>Writes the conflist into <paramref name="cniConfDirectory"/> atomically; returns its path.</summary>
    public static string WriteConflist(PluginInstallOptions options, string cniConfDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = Path.Combine(cniConfDirectory, PluginInstallOptions.ConflistFileName);
        AtomicFile.Write(path, RenderConflist(options));
        return path;
    }

    /// <summary>
    /// The conflist: our plugin (upstream's fields plus ipamdAddress), the egress-cni entry when there is one
    /// (<see cref="PluginInstallOptions.Egress"/>; enabled or not, as upstream), then portmap and optionally bandwidth; cniVersion
    /// 1.0.0 with CHECK enabled, or upstream's 0.4.0 with disableCheck (<see cref="PluginInstallOptions.CniVersion"/>).
    /// </summary>
    public static byte[] RenderConflist(PluginInstallOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("cniVersion", options.CniVersion);
            w.WriteString("name", options.NetworkName);
            if (options.CniVersion == VpcCni.Cni.CniVersion.V0_4_0)
            {
                // Upstream's layout: its plugin has no CHECK. Ours checks, so the 1.0.0 conflist lets runtimes call it.
                w.WriteBoolean("disableCheck", true);
            }

            w.WriteStartArray("plugins");

            w.WriteStartObject();
            w.WriteString("name", options.NetworkName);
            w.WriteString("type", options.PluginType);
            w.WriteString("vethPrefix", options.VethPrefix);
            w.WriteString("mtu", options.PodMtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("podSGEnforcingMode", options.PodSGEnforcingMode);
            w.WriteString("pluginLogFile", options.PluginLogFile);
            w.WriteString("pluginLogLevel", options.PluginLogLevel);
            w.WriteString("ipamdAddress", options.IpamdAddress);
            if (options.DaemonPodWiring)
            {
                w.WriteBoolean("daemonPodWiring", true);
            }

            w.WriteStartObject("capabilities");
            w.WriteBoolean(VpcCni.Cni.VpcCniPluginConfig.PodAnnotationsCapability, true);
            w.WriteEndObject();
            w.WriteEndObject();

            if (options.Egress is { } egress)
            {
                // Upstream's entry, field for field (values are strings, enabled the literal "true" or "false").
                w.WriteStartObject();
                w.WriteString("name", EgressPluginOptions.PluginType);
                w.WriteString("type", EgressPluginOptions.PluginType);
                w.WriteString("mtu", options.PodMtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("enabled", egress.Enabled ? "true" : "false");
                w.WriteString("randomizeSNAT", egress.RandomizeSnat);
                w.WriteString("nodeIP", egress.NodeIP);
                w.WriteStartObject("ipam");
                w.WriteString("type", "host-local");
                w.WriteStartArray("ranges");
                w.WriteStartArray();
                w.WriteStartObject();
                w.WriteString("subnet", egress.Subnet);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndArray();
                w.WriteStartArray("routes");
                w.WriteStartObject();
                w.WriteString("dst", egress.RouteDestination);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteString("dataDir", egress.DataDirectory);
                w.WriteEndObject();
                w.WriteString("pluginLogFile", egress.PluginLogFile);
                w.WriteString("pluginLogLevel", options.PluginLogLevel);
                w.WriteEndObject();
            }

            if (options.EnablePortmap)
            {
                w.WriteStartObject();
                w.WriteString("type", "portmap");
                w.WriteStartObject("capabilities");
                w.WriteBoolean("portMappings", true);
                w.WriteEndObject();
                w.WriteBoolean("snat", true);
                w.WriteEndObject();
            }

            if (options.EnableBandwidthPlugin)
            {
                w.WriteStartObject();
                w.WriteString("type", "bandwidth");
                w.WriteStartObject("capabilities");
                w.WriteBoolean("bandwidth", true);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The sysctls upstream's init container sets, in the current network namespace: tcp_early_demux
    /// (DISABLE_TCP_EARLY_DEMUX) and, for IPv6 clusters, disable_ipv6=0. Returns what was written.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ApplyInitSysctls(Func<string, string?> environment)
    {
        var env = new EnvironmentReader(environment);
        var values = new List<KeyValuePair<string, string>>
        {
            new("net/ipv4/tcp_early_demux", env.Bool("DISABLE_TCP_EARLY_DEMUX", false) ? "0" : "1"),
        };
        if (env.Bool("ENABLE_IPv6", false))
        {
            values.Add(new("net/ipv6/conf/all/disable_ipv6", "0"));
        }

        using var current = NetworkNamespace.Open("/proc/self/ns/net");
        new NamespaceSysctl().WriteAll(current, values, ignoreMissing: true);
        return values;
    }
}
