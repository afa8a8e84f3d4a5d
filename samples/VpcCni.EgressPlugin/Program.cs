using VpcCni.Cni;
using VpcCni.Linux.Egress;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// egress-cni: one invocation, CNI_* environment and stdin in, one JSON document (or nothing) out. Diagnostics (and the
// delegated IPAM plugin's) go to stderr, never stdout.
return await CniPluginRunner.RunProcessAsync(new EgressCniPlugin(diagnostics: Console.Error), new CniPluginRunnerOptions { Diagnostics = Console.Error });
