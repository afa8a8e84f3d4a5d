[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// The lab and the node fixtures use fixed ports inside their own namespaces and share the machine's CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
