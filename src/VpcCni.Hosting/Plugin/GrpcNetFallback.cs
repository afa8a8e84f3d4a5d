using System.Diagnostics.CodeAnalysis;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// Whether this build carries Grpc.Net.Client for <c>VPC_CNI_PLUGIN_GRPC_CLIENT=grpcnet</c>. The plugin executable is
/// published without it (the switch is false and trimmed): merely linking it grows the Native AOT binary by 4 MB and
/// every ADD's peak RSS by about 3 MB, and measurably slows each ADD (docs/benchmarks.md). Publishing with
/// <c>-p:VpcCniGrpcNetFallback=true</c> brings it back. Unset (tests, JIT hosts), it is available.
/// </summary>
internal static class GrpcNetFallback
{
    public const string SwitchName = "VpcCni.Plugin.GrpcNetFallback";

    [FeatureSwitchDefinition(SwitchName)]
    public static bool IsAvailable => !AppContext.TryGetSwitch(SwitchName, out var enabled) || enabled;
}
