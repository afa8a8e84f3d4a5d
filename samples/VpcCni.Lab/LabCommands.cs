using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace VpcCni.Lab;

/// <summary>run / up / verify / down.</summary>
internal static class LabCommands
{
    public const string StateFile = "state.json";

    public static async Task<int> RunAsync(LabOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var lab = new Lab(options, output);
        var exit = 1;
        try
        {
            await lab.BuildAsync(cancellationToken);
            WriteState(options, lab);
            var results = await lab.VerifyAsync(cancellationToken);
            PrintTable(output, results);
            var drained = await lab.DrainAsync(cancellationToken);
            foreach (var line in drained)
            {
                output.WriteLine($"  {line}");
            }

            var failed = results.Count(r => !r.Passed);
            output.WriteLine(failed == 0
                ? $"PASS: all {results.Count} path checks passed; every address returned; {(options.IPv6 ? "nothing of egress-cni left (IPv6: no pool to shrink)" : options.V6Egress ? "nothing of egress-cni left; warm pools shrank back" : "warm pools shrank back")}."
                : $"FAIL: {failed} of {results.Count} path checks failed.");
            if (options.Json)
            {
                output.WriteLine(new JsonObject
                {
                    ["passed"] = failed == 0,
                    ["paths"] = new JsonArray([.. results.Select(r => (JsonNode)new JsonObject
                    {
                        ["path"] = r.Path, ["from"] = r.From, ["to"] = r.To, ["expected"] = r.Expected, ["seen"] = r.Seen, ["passed"] = r.Passed,
                    })]),
                    ["drain"] = new JsonArray([.. drained.Select(d => (JsonNode)d)]),
                }.ToJsonString());
            }

            exit = failed == 0 ? 0 : 1;
        }
        catch (LabStepException ex)
        {
            output.WriteLine($"FAIL at step \"{ex.Step}\": {ex.InnerException?.Message ?? ex.Message}");
        }
        finally
        {
            if (options.Keep && exit == 0)
            {
                output.WriteLine("--keep: the lab stays up; run `vpc-cni-lab down` to remove it.");
                await WaitForSignalAsync(cancellationToken);
            }

            output.WriteLine("» tear down");
            await lab.DisposeAsync();
            var left = LabFabric.RemoveAll();
            output.WriteLine(left.Count == 0 ? "  nothing left behind" : $"  removed leftovers: {string.Join(", ", left)}");
        }

        return exit;
    }

    /// <summary>Builds the lab, prints its description, and keeps it (and the emulator) running until signalled.</summary>
    public static async Task<int> UpAsync(LabOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var lab = new Lab(options, options.Json ? TextWriter.Null : output);
        try
        {
            await lab.BuildAsync(cancellationToken);
            var state = WriteState(options, lab);
            output.WriteLine(options.Json ? state.ToJsonString() : $"lab is up; state in {Path.Combine(options.WorkDirectory, StateFile)}");
            output.Flush();
            await WaitForSignalAsync(cancellationToken);
            return 0;
        }
        catch (LabStepException ex)
        {
            await Console.Error.WriteLineAsync($"FAIL at step \"{ex.Step}\": {ex.InnerException?.Message ?? ex.Message}");
            return 1;
        }
        finally
        {
            await lab.DisposeAsync();
        }
    }

    /// <summary>
    /// `up` without --foreground: starts `up --foreground` as a detached process (its own session, output to
    /// /run/vpc-cni-lab.NAME.log) and returns once that process has written the lab's state, printing it; if the lab
    /// fails to build, prints the log's end and fails. Ctrl-C while building stops the child (SIGTERM: it tears down).
    /// </summary>
    public static async Task<int> UpInBackgroundAsync(string[] args, LabOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        LabLock.ThrowIfBusy(options.Name);
        var statePath = Path.Combine(options.WorkDirectory, StateFile);
        if (File.Exists(statePath))
        {
            File.Delete(statePath); // no live lab of this name (the lock was free): it is stale
        }
        var log = LabLock.LogPathOf(options.Name);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=$1; shift; exec setsid \"$@\" > \"$log\" 2>&1 < /dev/null");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(log);
        foreach (var arg in SelfCommand().Concat(args).Append("--foreground"))
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the lab process");
        try
        {
            while (true)
            {
                await Task.Delay(250, cancellationToken);
                if (child.HasExited)
                {
                    await Console.Error.WriteLineAsync($"the lab did not come up (exit {child.ExitCode}); the end of {log}:\n{Tail(log, 40)}");
                    return 1;
                }

                if (TryReadState(statePath) is { } state)
                {
                    output.WriteLine(options.Json
                        ? state.ToJsonString()
                        : $"lab \"{options.Name}\" is up (process {child.Id}); state in {statePath}, output in {log}; remove it with `vpc-cni-lab down{(options.Name == LabOptions.DefaultName ? "" : " --name " + options.Name)}`");
                    return 0;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Process.Start("kill", ["-TERM", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            await child.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2), CancellationToken.None);
            return 130;
        }
    }

    /// <summary>This program as a command line: the apphost, or `dotnet lab.dll`.</summary>
    private static IEnumerable<string> SelfCommand()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, typeof(LabCommands).Assembly.Location] : [process];
    }

    /// <summary>The state the new lab wrote (null until it has; a stale one was deleted before it started).</summary>
    private static JsonNode? TryReadState(string path)
    {
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return null; // not written yet, or being written
        }
    }

    private static string Tail(string path, int lines)
    {
        try
        {
            return string.Join('\n', File.ReadAllLines(path).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no output)";
        }
    }

    /// <summary>Removes a lab: signals its `up`/`run` process (recorded by id), then deletes leftovers by name.</summary>
    public static int Down(LabOptions options, TextWriter output)
    {
        // The lab's processes from its state, and the lock holder (a lab still building has no state yet).
        var statePath = Path.Combine(options.WorkDirectory, StateFile);
        var pids = new List<int>();
        if (File.Exists(statePath) && JsonNode.Parse(File.ReadAllText(statePath)) is { } state)
        {
            pids.AddRange(new[] { state["pid"] }.Concat(state["nodes"]?.AsArray().Select(n => n?["daemonPid"]) ?? [])
                .Where(p => p is not null).Select(p => p!.GetValue<int>()));
        }

        if (LabLock.HolderPid(options.Name) is int holder)
        {
            pids.Add(holder);
        }

        foreach (var id in pids.Distinct().Where(id => id != Environment.ProcessId && IsOurs(id)))
        {
            try
            {
                using var process = Process.GetProcessById(id);
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
                output.WriteLine($"stopped process {id}");
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        var removed = LabFabric.RemoveAll();
        foreach (var file in new[] { LabLock.PathOf(options.Name), LabLock.PidPathOf(options.Name), LabLock.LogPathOf(options.Name) })
        {
            File.Delete(file);
        }

        LabMounts.UnmountUnder(options.WorkDirectory);
        if (Directory.Exists(options.WorkDirectory))
        {
            Directory.Delete(options.WorkDirectory, recursive: true);
        }

        output.WriteLine(removed.Count == 0 ? "no lab namespaces found" : $"removed {string.Join(", ", removed)}");
        return 0;
    }

    private static bool IsOurs(int pid)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("vpc-cni-lab", StringComparison.Ordinal) || cmdline.Contains("vpc-cni-ipamd", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static JsonObject WriteState(LabOptions options, Lab lab)
    {
        var state = new JsonObject
        {
            ["pid"] = Environment.ProcessId,
            ["family"] = lab.Family.ToString(),
            ["vpc"] = new JsonObject { ["namespace"] = LabFabric.FullName("vpc"), ["cidr"] = lab.Cluster.VpcInfo.Cidrs[0].ToString(), ["ec2"] = "http://10.0.255.254:8080/", ["imds"] = "http://169.254.169.254/" },
            ["hosts"] = new JsonObject
            {
                ["awsService"] = new JsonObject { ["namespace"] = LabFabric.FullName("svc"), ["address"] = "10.0.200.10" },
                ["onPremises"] = new JsonObject { ["namespace"] = LabFabric.FullName("onprem"), ["address"] = "203.0.113.10" },
                ["internet"] = new JsonObject { ["namespace"] = LabFabric.FullName("inet"), ["address"] = "198.51.100.10" },
                ["internetGateway"] = new JsonObject { ["namespace"] = LabFabric.FullName("igw") },
                ["internetIPv6"] = options.DualStack ? new JsonObject { ["namespace"] = LabFabric.FullName("inet6"), ["address"] = PathProber.InternetHostV6.ToString() } : null,
            },
            ["nodes"] = new JsonArray([.. Enumerable.Range(1, options.Nodes).Select(n => (JsonNode)new JsonObject
            {
                ["namespace"] = LabFabric.FullName($"node{n}"),
                ["instanceId"] = lab.Cluster.Nodes[n - 1].InstanceId,
                ["primaryAddress"] = lab.Cluster.Nodes[n - 1].PrivateIPv4.ToString(),
                ["primaryIPv6"] = lab.NodeIPv6(n)?.ToString(),
                ["daemonSocket"] = Path.Combine(options.WorkDirectory, $"node{n}", "ipamd.sock"),
                ["conflistDirectory"] = Path.Combine(options.WorkDirectory, $"node{n}", "net.d"),
                ["pluginDirectory"] = Path.Combine(options.WorkDirectory, $"node{n}", "bin"),
                ["daemonPid"] = lab.DaemonPid(n),
            })]),
            ["pods"] = new JsonArray([.. lab.Pods.Select(p => (JsonNode)new JsonObject
            {
                ["node"] = p.Node, ["name"] = p.Name, ["namespace"] = p.Namespace, ["containerId"] = p.ContainerId,
                ["address"] = p.Address.ToString(), ["secondaryEni"] = p.OnSecondaryEni,
            })]),
        };
        Directory.CreateDirectory(options.WorkDirectory);
        File.WriteAllText(Path.Combine(options.WorkDirectory, StateFile), state.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return state;
    }

    public static void PrintTablePublic(TextWriter output, IReadOnlyList<PathResult> results) => PrintTable(output, results);

    private static void PrintTable(TextWriter output, IReadOnlyList<PathResult> results)
    {
        output.WriteLine();
        // IPv6 addresses are wider than the IPv4 columns: the address columns grow to the longest value.
        var from = Math.Max(22, results.Select(r => r.From.Length).DefaultIfEmpty().Max());
        var to = Math.Max(26, results.Select(r => r.To.Length).DefaultIfEmpty().Max());
        var seen = Math.Max(15, results.Select(r => Math.Max(r.Expected.Length, r.Seen.Length)).DefaultIfEmpty().Max());
        output.WriteLine($"{"PATH".PadRight(44)} {"FROM".PadRight(from)} {"TO".PadRight(to)} {"EXPECTED SOURCE".PadRight(seen)} {"SEEN SOURCE".PadRight(seen)} RESULT");
        foreach (var r in results)
        {
            output.WriteLine($"{r.Path.PadRight(44)} {r.From.PadRight(from)} {r.To.PadRight(to)} {r.Expected.PadRight(seen)} {r.Seen.PadRight(seen)} {(r.Passed ? "pass" : "FAIL")}");
        }

        output.WriteLine();
    }

    private static async Task WaitForSignalAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
