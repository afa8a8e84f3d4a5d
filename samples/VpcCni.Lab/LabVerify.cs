using System.Net;
using System.Text.Json.Nodes;

namespace VpcCni.Lab;

/// <summary>`verify`: the path checks against a lab left running by `up`.</summary>
internal static class LabVerify
{
    public static async Task<int> RunAsync(LabOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var statePath = Path.Combine(options.WorkDirectory, LabCommands.StateFile);
        if (!File.Exists(statePath))
        {
            output.WriteLine($"no running lab ({statePath} not found); start one with `vpc-cni-lab up`");
            return 1;
        }

        var state = JsonNode.Parse(await File.ReadAllTextAsync(statePath, cancellationToken))!;
        var pods = state["pods"]!.AsArray().Select(p => new LabPod(
            p!["node"]!.GetValue<int>(), p["name"]!.GetValue<string>(), p["namespace"]!.GetValue<string>(), p["containerId"]!.GetValue<string>(),
            IPAddress.Parse(p["address"]!.GetValue<string>())) { OnSecondaryEni = p["secondaryEni"]!.GetValue<bool>() }).ToList();
        var nodeAddresses = state["nodes"]!.AsArray().Select(n => IPAddress.Parse(n!["primaryAddress"]!.GetValue<string>())).ToList();
        var nodeIPv6 = state["nodes"]!.AsArray().Select(n => n?["primaryIPv6"]?.GetValue<string>() is { } a ? IPAddress.Parse(a) : null).ToList();
        var family = Enum.TryParse<LabFamily>(state["family"]?.GetValue<string>(), out var f) ? f : LabFamily.IPv4;
        using var fabric = new LabFabric();
        foreach (var ns in PathProber.HostNamespaces(family).Concat(pods.Select(p => p.Name)))
        {
            fabric.Attach(ns);
        }

        using var prober = new PathProber(fabric, pods, nodeAddresses, family, nodeIPv6);
        var results = await prober.RunAsync(cancellationToken);
        LabCommands.PrintTablePublic(output, results);
        var failed = results.Count(r => !r.Passed);
        output.WriteLine(failed == 0 ? $"PASS: all {results.Count} path checks passed." : $"FAIL: {failed} of {results.Count} path checks failed.");
        return failed == 0 ? 0 : 1;
    }
}
