using VpcCni.Cni;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The VPC_CNI_PLUGIN_GRPC_CLIENT variable, read from the plugin's environment (the container runtime's, which libcni
/// passes on): unset, empty or "http2" for the lean client, "grpcnet" for Grpc.Net.Client.
/// </summary>
internal static class PluginGrpcClientSetting
{
    public const string Variable = "VPC_CNI_PLUGIN_GRPC_CLIENT";

    /// <exception cref="CniException">Any other value, or "grpcnet" in a build without it (InvalidEnvironmentVariables), so
    /// a typo or a missing fallback is not silently the default.</exception>
    public static PluginGrpcClient Read(Func<string, string?> environment)
    {
        var value = environment(Variable)?.Trim();
        return value switch
        {
            null or "" => PluginGrpcClient.Http2,
            _ when value.Equals("http2", StringComparison.OrdinalIgnoreCase) => PluginGrpcClient.Http2,
            _ when value.Equals("grpcnet", StringComparison.OrdinalIgnoreCase) => GrpcNetFallback.IsAvailable
                ? PluginGrpcClient.GrpcNet
                : throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                    $"{Variable}=\"{value}\": this plugin was built without the Grpc.Net.Client fallback; publish it with -p:VpcCniGrpcNetFallback=true"),
            _ => throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"{Variable}=\"{value}\" is invalid; use \"http2\" (the default) or \"grpcnet\""),
        };
    }
}
