// The daemon and the plugin run on Linux nodes; Hosting composes the Linux datapath.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
