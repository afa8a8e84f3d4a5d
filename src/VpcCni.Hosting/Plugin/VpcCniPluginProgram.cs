using System.Runtime.Versioning;
using VpcCni.Cni;

namespace VpcCni.Hosting.Plugin;

/// <summary>Entry point of the VpcCni CNI plugin executable.</summary>
[SupportedOSPlatform("linux")]
public static class VpcCniPluginProgram
{
    /// <summary>The version the plugin reports to the daemon: the assembly version, as a build-time constant (no reflection).</summary>
    public static string Version => VpcCniBuildInfo.AssemblyVersion;

    /// <summary>
    /// Runs one CNI invocation of the real process (environment, stdin, stdout) and returns its exit status.
    /// The config's pluginLogFile/pluginLogLevel decide where logs go; never stdout.
    /// </summary>
    public static async Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        using var plugin = new VpcCniPlugin(
            address => GrpcIpamdClient.Create(address, PluginGrpcClientSetting.Read(Environment.GetEnvironmentVariable)),
            config => new LinuxPodWiring(config.VethPrefix),
            config => PluginLogger.Create(config.PluginLogFile, config.PluginLogLevel, TimeProvider.System),
            Version);

        // stderr is opened only if something is written to it (a failure's stack trace).
        return await CniPluginRunner.RunProcessAsync(plugin, new CniPluginRunnerOptions { Diagnostics = StandardErrorWriter.Instance }, cancellationToken).ConfigureAwait(false);
    }
}
