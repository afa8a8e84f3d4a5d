namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>Tests that read the process-wide daemon meters: run after the others, not beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Process-wide daemon metrics";
}
