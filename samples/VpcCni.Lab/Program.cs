using System.Runtime.InteropServices;
using VpcCni.Lab;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// vpc-cni-lab run|up|verify|down: the whole mission on one Linux machine (see README).
using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
try
{
    var (command, options) = LabArguments.Parse(args);
    LabFabric.UseName(options.Name);
    if (command == "up" && !options.Foreground)
    {
        return await LabCommands.UpInBackgroundAsync(args, options, Console.Out, stop.Token);
    }

    // A lab that builds holds its name's lock while it lives: a second one of the same name refuses to start.
    using var labLock = command is "run" or "up" or "chaos" ? LabLock.Acquire(options.Name) : null;
    return command switch
    {
        "run" => await LabCommands.RunAsync(options, Console.Out, stop.Token),
        "up" => await LabCommands.UpAsync(options, Console.Out, stop.Token),
        "verify" => await LabVerify.RunAsync(options, Console.Out, stop.Token),
        "down" => LabCommands.Down(options, Console.Out),
        "chaos" => await VpcCni.Lab.Chaos.ChaosCommand.RunAsync(options, Console.Out, stop.Token),
        _ => throw new ArgumentException($"unknown command \"{command}\""),
    };
}
catch (LabBusyException ex)
{
    Console.Error.WriteLine($"vpc-cni-lab: {ex.Message}");
    return 3;
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"vpc-cni-lab: {ex.Message}\n\n{LabArguments.Usage}");
    return 2;
}
