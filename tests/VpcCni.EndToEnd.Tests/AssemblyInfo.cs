[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// The lab and the node fixtures use fixed ports inside their own namespaces and share the machine's CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// Live output during long tests, so the runner never mistakes a clean exit after a silent minute for a crash.
[assembly: VpcCni.EndToEnd.Tests.Support.ProgressHeartbeat]
