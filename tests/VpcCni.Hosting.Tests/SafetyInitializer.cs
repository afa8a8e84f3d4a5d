using System.Runtime.CompilerServices;

namespace VpcCni.Hosting.Tests;

internal static class SafetyInitializer
{
    /// <summary>No test may let the AWS SDK reach the real instance metadata service from the root namespace.</summary>
    [ModuleInitializer]
    internal static void DisableInstanceMetadata() => Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
}
