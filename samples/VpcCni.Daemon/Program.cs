using VpcCni.Daemon;
using VpcCni.Hosting.Daemon;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// vpc-cni-ipamd: every command is in VpcCni.Hosting; this executable only owns the ASP.NET Core server.
using var shutdown = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    shutdown.Cancel();
};
return await DaemonCli.RunAsync(args, DaemonHost.RunAsync, Console.Out, Console.Error, shutdown.Token);
