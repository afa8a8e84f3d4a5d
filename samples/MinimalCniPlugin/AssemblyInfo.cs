// VpcCni.Linux is Linux-only (netlink, namespaces).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
