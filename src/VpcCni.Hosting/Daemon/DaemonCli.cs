using VpcCni.Configuration;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Health.V1;
using VpcCni.Aws.Limits;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Node;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The vpc-cni-ipamd command line: run (the daemon), init, status, health, max-pods, plan, fleet. The executable passes in
/// the server (it owns the ASP.NET Core host); everything else is here so tests can reach it.
/// </summary>
public static class DaemonCli
{
    internal const string Usage = """
        usage: vpc-cni-ipamd [COMMAND] [OPTIONS]

          run (default)  the daemon: --cloud aws|simulated, --instance-type T (simulated), --socket PATH,
                         --grpc-tcp 127.0.0.1:50051, --checkpoint PATH, --cni-conf-dir DIR (write the conflist when
                         ready), --no-host-network, --kubeconfig PATH | --kube-server URL (the Kubernetes API when not
                         in a pod's service account), --max-pods N (the node's pod capacity until its Node is read;
                         also VPC_CNI_MAX_PODS); every upstream variable (WARM_ENI_TARGET, ...) from the environment
          init           --plugin-source PATH --cni-bin-dir DIR [--cni-conf-dir DIR] [--socket PATH] [--skip-sysctls]
                         [--chained-plugins-dir DIR] [--egress-plugin-source PATH]: install the plugin, egress-cni
                         (always chained, as upstream; default: beside the plugin), the plugins the conflist chains (portmap;
                         bandwidth with ENABLE_BANDWIDTH_PLUGIN) from DIR (default /usr/lib/cni when it holds them, as in
                         the node image) and the conflist atomically, and set the host sysctls
          status         [--introspection 127.0.0.1:61679]: the pool (ENIs, addresses, assigned, cooling) as a table
          health         [--socket PATH] [--timeout 5s]: gRPC health check; exit 0 when SERVING
          max-pods       --instance-type T | --all [--prefix-delegation] [--custom-networking] [--max-eni N] [--cpus N]
                         [--max-pods N] (--max-pods: N is the node's pod capacity; prints it, the formula's figure and
                         how many pod addresses the type's ENIs hold in that mode, i.e. whether N is reachable)
          plan           --instance-type T --pods N [--warm-eni-target N] [--warm-ip-target N] [--minimum-ip-target N]
                         [--warm-prefix-target N] [--prefix-delegation] [--custom-networking] [--max-pods N] [--json]
                         [--subnet-free-addresses N] [--workload FILE [--svg FILE]]
                         (--max-pods: the node's pod capacity, as the daemon takes it from its Node; default: the
                         mode's formula below, as the daemon without a Kubernetes API). Pods that cannot be placed
                         (max pods, ENI limit, subnet full) make it exit 1 with "plan: P of N pods placed: REASON" on
                         stderr; --json carries requestedPods, placedPods, maxPods and unplacedReason (null: all fit)

          fleet          [--workload scale-up|join|burst | --trace FILE] [--nodes N] [--instance-type T | T:3,U:1]
                         [--pods N (scale-up; default 23000)] [--pods-per-node N (join; default 30)]
                         [--policies upstream,vpccni] [--seed N] [--duration 30m] [--warmup 10m] [--full-duration] [--json] [--svg FILE]:
                         N simulated nodes (default 500) in one simulated account sharing EC2's request buckets, each
                         running the real pool controller on a virtual clock; the policies side by side (progress on
                         stderr). burst: one m5.4xlarge, 5 pods then 100 at 60 s. docs/ec2-budget.md

          rpc-load       [--socket PATH] [--callers 64] [--pairs 2000] [--warmup CALLERS]: AddNetwork+DelNetwork latency
                         and throughput after untimed warm-up pairs

        max-pods rules: secondary-IP mode = ENIs × (IPv4 per ENI − 1) + 2, as upstream's eni-max-pods.txt.
        Prefix delegation = ENIs × (IPv4 per ENI − 1) × 16 + 2; custom networking uses one ENI fewer. With the vCPU
        count known (--cpus), the EKS calculator's cap applies: 110 below 30 vCPUs, else 250.
        """;

    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal)
    {
        "no-host-network", "skip-sysctls", "all", "prefix-delegation", "custom-networking", "json", "help", "full-duration",
    };

    /// <summary>Runs a command; returns the process exit code (2 for usage errors).</summary>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<DaemonSettings, CancellationToken, Task<int>> runServer,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runServer);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var line = CommandLine.Parse(args, "run", Flags);
            if (line.Flag("help") || line.Command is "help" or "-h")
            {
                await output.WriteLineAsync(Usage).ConfigureAwait(false);
                return 0;
            }

            switch (line.Command)
            {
                case "run":
                    var settings = ReadRunSettings(line, EnvironmentReader.Process);
                    line.EnsureAllUsed();
                    return await runServer(settings, cancellationToken).ConfigureAwait(false);
                case "init":
                    return await InitAsync(line, output, cancellationToken).ConfigureAwait(false);
                case "status":
                    return await StatusAsync(line, output, error, cancellationToken).ConfigureAwait(false);
                case "health":
                    return await HealthAsync(line, output, error, cancellationToken).ConfigureAwait(false);
                case "max-pods":
                    return MaxPods(line, output);
                case "plan":
                    return await PlanCommand.RunAsync(line, output, error, cancellationToken).ConfigureAwait(false);
                case "fleet":
                    return await FleetCommand.RunAsync(line, output, error, cancellationToken).ConfigureAwait(false);
                case "rpc-load":
                    return await RpcLoadCommand.RunAsync(line, output, cancellationToken).ConfigureAwait(false);
                default:
                    throw new CommandLineException($"unknown command \"{line.Command}\"");
            }
        }
        catch (CommandLineException ex)
        {
            await error.WriteLineAsync($"vpc-cni-ipamd: {ex.Message}\n\n{Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (InvalidSettingException ex)
        {
            await error.WriteLineAsync($"vpc-cni-ipamd: invalid setting {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (ArgumentException ex)
        {
            await error.WriteLineAsync($"vpc-cni-ipamd: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (FileNotFoundException ex)
        {
            // init: a plugin source that is not there (a wrong path in the manifest, an image without the plugins).
            await error.WriteLineAsync($"vpc-cni-ipamd: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>The run command's settings: the environment, then the flags.</summary>
    internal static DaemonSettings ReadRunSettings(CommandLine line, EnvironmentReader environment)
    {
        ArgumentNullException.ThrowIfNull(line);
        var settings = DaemonSettings.FromEnvironment(environment, validateKubernetes: false);
        var cloud = line.Get("cloud") ?? "aws";
        settings = settings with
        {
            Cloud = cloud switch
            {
                "aws" => CloudKind.Aws,
                "simulated" => CloudKind.Simulated,
                _ => throw new CommandLineException($"--cloud \"{cloud}\" must be aws or simulated"),
            },
            SimulatedInstanceType = line.Get("instance-type") ?? settings.SimulatedInstanceType,
            SocketPath = line.Get("socket") ?? settings.SocketPath,
            CheckpointPath = line.Get("checkpoint") ?? settings.CheckpointPath,
            CniConfDirectory = line.Get("cni-conf-dir"),
            ManageHostNetwork = !line.Flag("no-host-network"),
        };
        var kubeServer = line.Get("kube-server");
        var kubeconfig = line.Get("kubeconfig");
        if (kubeServer is not null && kubeconfig is not null)
        {
            throw new CommandLineException("--kube-server and --kubeconfig exclude each other");
        }

        if (kubeServer is not null)
        {
            settings = settings with
            {
                Kubernetes = settings.Kubernetes.WithServer(Uri.TryCreate(kubeServer, UriKind.Absolute, out var server) && server.Scheme is "http" or "https"
                    ? server
                    : throw new CommandLineException($"--kube-server \"{kubeServer}\" must be an http:// or https:// URL")),
            };
        }
        else if (kubeconfig is not null)
        {
            settings = settings with { Kubernetes = settings.Kubernetes.WithKubeconfig(kubeconfig) };
        }

        settings = settings with { Kubernetes = settings.Kubernetes.Validated() };
        if (line.Int("max-pods", 1, 100_000) is { } maxPods)
        {
            // The node's pod capacity until the Node says otherwise (VPC_CNI_MAX_PODS is the same as a variable).
            settings.Ipam.MaxPods = maxPods;
        }

        if (line.Get("grpc-tcp") is { } tcp)
        {
            settings = settings with
            {
                GrpcTcpEndpoint = IPEndPoint.TryParse(tcp, out var endpoint) && endpoint.Port > 0
                    ? endpoint
                    : throw new CommandLineException($"--grpc-tcp \"{tcp}\" must be host:port"),
            };
        }

        if (settings.Cloud == CloudKind.Simulated && !InstanceLimitsCatalog.TryGet(settings.SimulatedInstanceType, out _))
        {
            throw new CommandLineException($"--instance-type \"{settings.SimulatedInstanceType}\" is not a known instance type");
        }

        return settings;
    }

    private static async Task<int> InitAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var source = line.Require("plugin-source");
        var egressSource = line.Get("egress-plugin-source");
        var binDir = line.Require("cni-bin-dir");
        var confDir = line.Get("cni-conf-dir");
        var socket = line.Get("socket");
        var skipSysctls = line.Flag("skip-sysctls");
        var chainedDir = line.Get("chained-plugins-dir");
        line.EnsureAllUsed();

        var options = PluginInstallOptions.FromEnvironment(Environment.GetEnvironmentVariable);
        if (socket is not null)
        {
            options = options with { IpamdAddress = socket };
        }

        output.WriteLine($"installed {NodeInstaller.InstallPlugin(source, binDir, options.PluginType)}");
        // The conflist always chains egress-cni (upstream's entrypoint installs both plugins), enabled or not.
        output.WriteLine($"installed {NodeInstaller.InstallEgressPlugin(source, egressSource, binDir)}");
        if (options.Egress is not null && confDir is not null)
        {
            // The nodeIP is only needed for the conflist (read from IMDS as upstream's entrypoint does; not for a disabled IPv4-cluster entry).
            options = await NodeInstaller.ResolveEgressNodeIPAsync(
                options,
                ct => Aws.Imds.ImdsNodeAddresses.GetLocalIPv4Async(Environment.GetEnvironmentVariable, ct),
                ct => Aws.Imds.ImdsNodeAddresses.GetIPv6Async(Environment.GetEnvironmentVariable, ct),
                output,
                cancellationToken).ConfigureAwait(false);
        }

        InstallChainedPlugins(options, chainedDir, binDir, output);
        if (confDir is not null)
        {
            output.WriteLine($"wrote {NodeInstaller.WriteConflist(options, confDir)}");
        }

        if (!skipSysctls)
        {
            foreach (var (key, value) in NodeInstaller.ApplyInitSysctls(Environment.GetEnvironmentVariable))
            {
                output.WriteLine($"sysctl {key.Replace('/', '.')}={value}");
            }
        }

        return 0;
    }

    // An explicit directory must hold every chained plugin; the default one is used only when it does (a host without
    // Debian's containernetworking-plugins then gets a note, and the runtime fails ADD naming the missing type).
    private static void InstallChainedPlugins(PluginInstallOptions options, string? directory, string binDir, TextWriter output)
    {
        var source = directory ?? NodeInstaller.DefaultChainedPluginsDirectory;
        if (directory is null)
        {
            var missing = NodeInstaller.ChainedPluginTypes(options).Where(type => !File.Exists(Path.Combine(source, type))).ToList();
            if (missing.Count > 0)
            {
                output.WriteLine($"not installed: {string.Join(", ", missing)} (not in {source}; pass --chained-plugins-dir)");
                return;
            }
        }

        foreach (var installed in NodeInstaller.InstallChainedPlugins(options, source, binDir))
        {
            output.WriteLine($"installed {installed}");
        }
    }

    private static async Task<int> StatusAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var address = line.Get("introspection") ?? "127.0.0.1:61679";
        line.EnsureAllUsed();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        JsonDocument enis;
        try
        {
            var body = await http.GetByteArrayAsync(new Uri($"http://{address}/v1/enis"), cancellationToken).ConfigureAwait(false);
            enis = JsonDocument.Parse(body);
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"vpc-cni-ipamd: cannot read introspection at {address}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        using (enis)
        {
            output.WriteLine(StatusTable.Render(enis.RootElement));
        }

        return 0;
    }

    private static async Task<int> HealthAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var socket = line.Get("socket") ?? IpamdChannel.DefaultSocketPath;
        var timeout = line.Duration("timeout") ?? TimeSpan.FromSeconds(5);
        line.EnsureAllUsed();
        using var channel = IpamdChannel.Create(socket, timeout);
        var client = new Health.HealthClient(channel);
        try
        {
            var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(timeout), cancellationToken: cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(reply.Status.ToString()).ConfigureAwait(false);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (Grpc.Core.RpcException ex)
        {
            await error.WriteLineAsync($"health check of {socket} failed: {ex.Status.StatusCode} {ex.Status.Detail}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int MaxPods(CommandLine line, TextWriter output)
    {
        var options = new MaxPodsOptions(
            PrefixDelegation: line.Flag("prefix-delegation"),
            CustomNetworking: line.Flag("custom-networking"),
            MaxEni: line.Int("max-eni", 1, 1000),
            VCpus: line.Int("cpus", 1, 10_000));
        if (line.Flag("all"))
        {
            if (line.Get("max-pods") is not null)
            {
                throw new CommandLineException("--max-pods needs --instance-type, not --all");
            }

            line.EnsureAllUsed();
            foreach (var limits in InstanceLimitsCatalog.All.OrderBy(l => l.InstanceType, StringComparer.Ordinal))
            {
                output.WriteLine($"{limits.InstanceType} {MaxPodsCalculator.Calculate(limits, options).ToString(CultureInfo.InvariantCulture)}");
            }

            return 0;
        }

        var type = line.Require("instance-type");
        var given = line.Int("max-pods", 1, 100_000);
        line.EnsureAllUsed();
        if (!InstanceLimitsCatalog.TryGet(type, out var found))
        {
            throw new CommandLineException($"--instance-type \"{type}\" is not a known instance type");
        }

        var formula = MaxPodsCalculator.Calculate(found, options);
        if (given is not { } maxPods)
        {
            output.WriteLine(formula.ToString(CultureInfo.InvariantCulture));
            return 0;
        }

        output.WriteLine(DescribeGivenMaxPods(found, options, maxPods, formula));
        return 0;
    }

    // --max-pods N: N is the node's pod capacity and so the engine's max pods; say whether the ENIs can hold that many.
    private static string DescribeGivenMaxPods(VpcCni.Cloud.InstanceLimits limits, MaxPodsOptions options, int maxPods, int formula)
    {
        var pd = options.PrefixDelegation && limits.SupportsPrefixDelegation;
        var mode = pd ? "prefix delegation" : "secondary IPs";
        if (options.CustomNetworking)
        {
            mode += ", custom networking";
        }

        var capacity = MaxPodsCalculator.AddressCapacity(limits, options);
        var enis = options.MaxEni is >= 1 ? Math.Min(options.MaxEni.Value, limits.MaxEnis) : limits.MaxEnis;
        enis = Math.Max(0, enis - (options.CustomNetworking ? 1 : 0));
        var shape = pd
            ? $"{enis} ENIs × {limits.IPv4PerEni - 1} prefixes × 16"
            : $"{enis} ENIs × {limits.IPv4PerEni - 1} addresses";
        var verdict = capacity >= maxPods
            ? $"{maxPods} is reachable"
            : capacity >= maxPods - 2
                ? $"{maxPods} is reachable with 2 host-network pods (aws-node, kube-proxy) among them"
                : $"{maxPods} is not reachable: at most {capacity} pods get an address";
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv, $"""
            max pods      {maxPods} (the node's pod capacity, --max-pods; the engine's max pods)
            formula       {formula} ({mode})
            addresses     {capacity} on {limits.InstanceType}'s ENIs ({shape}): {verdict}
            """);
    }
}
