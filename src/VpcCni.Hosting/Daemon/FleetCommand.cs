using System.Globalization;
using System.Text.Json;
using VpcCni.Aws.Limits;
using VpcCni.Cloud;
using VpcCni.Ipam;
using VpcCni.Ipam.Fleet;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// `vpc-cni-ipamd fleet`: N simulated nodes in one simulated account (shared EC2 buckets), each running the real pool
/// controller, on a virtual clock; the policies side by side as a table, <c>--json</c> and <c>--svg</c>. Usage errors exit 2.
/// </summary>
internal static class FleetCommand
{
    private const string BurstTrace = """{"name":"100-pod burst","durationSeconds":600,"events":[{"at":0,"add":5},{"at":60,"add":100}]}""";

    public static async Task<int> RunAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var settings = await ReadSettingsAsync(line, cancellationToken).ConfigureAwait(false);
        var policies = ReadPolicies(line.Get("policies"));
        var json = line.Flag("json");
        var svg = line.Get("svg");
        line.EnsureAllUsed();

        var runs = FleetSimulator.Run(settings, policies, message => error.WriteLine(message));
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new FleetResults([.. runs.Select(r => r.Result)]), FleetJsonContext.Default.FleetResults)).ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync(settings.Title).ConfigureAwait(false);
            await output.WriteAsync(FleetSimulator.FormatTable(runs)).ConfigureAwait(false);
        }

        if (svg is not null)
        {
            await File.WriteAllTextAsync(svg, FleetChart.Render(settings.Title, runs), cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }

    internal static async Task<FleetSettings> ReadSettingsAsync(CommandLine line, CancellationToken cancellationToken)
    {
        var workload = line.Get("workload");
        var tracePath = line.Get("trace");
        if (workload is not null && tracePath is not null)
        {
            throw new CommandLineException("--workload and --trace exclude each other");
        }

        var kind = tracePath is not null ? "trace" : workload ?? "scale-up";
        if (kind is not ("scale-up" or "join" or "burst" or "trace"))
        {
            throw new CommandLineException($"--workload \"{workload}\" must be scale-up, join or burst (or use --trace FILE)");
        }

        var nodes = line.Int("nodes", 1, 100_000);
        var pods = line.Int("pods", 0, 10_000_000);
        var podsPerNode = line.Int("pods-per-node", 0, 100_000);
        if (pods is not null && kind != "scale-up")
        {
            throw new CommandLineException("--pods applies to --workload scale-up");
        }

        if (podsPerNode is not null && kind != "join")
        {
            throw new CommandLineException("--pods-per-node applies to --workload join");
        }

        if (kind == "burst" && nodes is not null && nodes != 1)
        {
            throw new CommandLineException("--nodes: --workload burst is one node (use --trace for more)");
        }

        var types = ParseInstanceTypes(line.Get("instance-type") ?? (kind is "burst" ? "m5.4xlarge" : "m5.xlarge"));
        var seed = line.Int("seed", 0, int.MaxValue) ?? 1;
        var fleetSizeHint = line.Int("fleet-size-hint", 1, 1_000_000);
        var duration = line.Duration("duration");
        if (duration is { } d && (d <= TimeSpan.Zero || d > TimeSpan.FromDays(1)))
        {
            throw new CommandLineException("--duration must be more than 0 and at most a day");
        }

        var warmup = line.Duration("warmup");
        if (warmup is not null && kind != "scale-up")
        {
            throw new CommandLineException("--warmup applies to --workload scale-up");
        }

        WorkloadTrace? trace = null;
        if (kind == "burst")
        {
            trace = WorkloadTrace.Parse(BurstTrace);
        }
        else if (tracePath is not null)
        {
            if (!File.Exists(tracePath))
            {
                throw new CommandLineException($"--trace {tracePath}: file not found");
            }

            try
            {
                trace = WorkloadTrace.Parse(await File.ReadAllTextAsync(tracePath, cancellationToken).ConfigureAwait(false));
            }
            catch (FormatException ex)
            {
                throw new CommandLineException($"--trace {tracePath}: {ex.Message}");
            }
        }

        var nodeCount = nodes ?? kind switch { "scale-up" => 500, "join" => 150, _ => 1 };
        var typeText = string.Join(",", types.Select(t => t.Weight == 1 && types.Count == 1 ? t.Limits.InstanceType : $"{t.Limits.InstanceType}:{t.Weight}"));
        var inv = CultureInfo.InvariantCulture;
        return new FleetSettings
        {
            Workload = kind switch { "scale-up" => FleetWorkloadKind.ScaleUp, "join" => FleetWorkloadKind.Join, _ => FleetWorkloadKind.Trace },
            Nodes = nodeCount,
            InstanceTypes = types,
            Pods = pods ?? 23_000,
            PodsPerNode = podsPerNode ?? 30,
            Trace = trace,
            Seed = seed,
            DurationSeconds = duration?.TotalSeconds ?? trace?.EffectiveDuration ?? 1800,
            WarmupSeconds = warmup?.TotalSeconds ?? 600,
            FullDuration = line.Flag("full-duration"),
            FleetSizeHint = fleetSizeHint,
            Title = kind switch
            {
                "scale-up" => string.Create(inv, $"scale-up: {nodeCount} nodes ({typeText}), 0 → {pods ?? 23_000} pods, seed {seed}"),
                "join" => string.Create(inv, $"join: {nodeCount} new nodes ({typeText}), {podsPerNode ?? 30} pods each, seed {seed}"),
                _ => string.Create(inv, $"{trace!.Name}: {nodeCount} node(s) ({typeText}), seed {seed}"),
            },
        };
    }

    /// <summary>"m5.large" or "m5.large:3,m5.4xlarge:1".</summary>
    internal static IReadOnlyList<(InstanceLimits Limits, int Weight)> ParseInstanceTypes(string text)
    {
        var list = new List<(InstanceLimits, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? part : part[..colon];
            var weight = 1;
            if (colon >= 0 && (!int.TryParse(part[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight is < 1 or > 1000))
            {
                throw new CommandLineException($"--instance-type \"{text}\": \"{part}\" must be TYPE or TYPE:WEIGHT with a weight from 1 to 1000");
            }

            if (!InstanceLimitsCatalog.TryGet(name, out var limits))
            {
                throw new CommandLineException($"--instance-type \"{name}\" is not a known instance type");
            }

            list.Add((limits, weight));
        }

        return list;
    }

    internal static IReadOnlyList<FleetPolicy> ReadPolicies(string? text)
    {
        if (text is null)
        {
            return FleetPolicy.Known;
        }

        var list = new List<FleetPolicy>();
        foreach (var name in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var policy = FleetPolicy.All.FirstOrDefault(p => p.Name == name)
                ?? throw new CommandLineException($"--policies: unknown policy \"{name}\" (known: {string.Join(", ", FleetPolicy.All.Select(p => p.Name))})");
            if (!list.Contains(policy))
            {
                list.Add(policy);
            }
        }

        return list.Count > 0 ? list : throw new CommandLineException("--policies names no policy");
    }
}
