using VpcCni.Hosting.Plugin;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// A CNI plugin: one invocation, CNI_* environment and stdin in, one JSON document (or nothing) out.
return await VpcCniPluginProgram.RunAsync();
