using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Simulation;
using VpcCni.Linux.Netlink;

namespace VpcCni.Lab;

/// <summary>A pod the lab added through the real plugin.</summary>
internal sealed record LabPod(int Node, string Name, string Namespace, string ContainerId, IPAddress Address)
{
    public bool OnSecondaryEni { get; set; }
}

/// <summary>One row of the proof table.</summary>
internal sealed record PathResult(string Path, string From, string To, string Expected, string Seen, bool Passed);

/// <summary>
/// The lab: a VPC made of network namespaces whose routes follow the simulated EC2, N nodes running the real daemon
/// against the loopback emulator, pods added through the real plugin by libcni, and hosts that echo the source
/// address they see.
/// </summary>
internal sealed class Lab : IAsyncDisposable
{
    private static readonly IPAddress Gateway = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress ImdsAddress = IPAddress.Parse("169.254.169.254");
    private static readonly IPAddress Ec2Address = IPAddress.Parse("10.0.255.254");
    private static readonly IPAddress ServiceHost = IPAddress.Parse("10.0.200.10");
    private static readonly IPAddress OnPremHost = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress InternetHost = IPAddress.Parse("198.51.100.10");
    private const string OnPremCidr = "203.0.113.0/24";

    /// <summary>The VPC router's link-local address on every ENI link, the nodes' IPv6 gateway (EC2's router answers there too).</summary>
    private static readonly IPAddress RouterLinkLocal = IPAddress.Parse("fe80::1");
    private static readonly IPAddress ServiceRouterV6 = IPAddress.Parse("fd00:ec2:0:c8::1");
    private static readonly IPAddress InternetRouterV6 = IPAddress.Parse("2001:db8:100::1");

    /// <summary>VPC router ⇄ internet gateway over IPv6 (documentation range, like the IPv4 /30).</summary>
    private static readonly IPAddress VpcIgwV6 = IPAddress.Parse("2001:db8:ff::1");
    private static readonly IPAddress IgwVpcV6 = IPAddress.Parse("2001:db8:ff::2");

    /// <summary>egress-cni's host-local ranges (upstream §5.6).</summary>
    private static readonly IPNetwork EgressV4Range = IPNetwork.Parse("169.254.172.0/22");
    private static readonly IPNetwork EgressV6Range = IPNetwork.Parse("fd00::ac:00/118");
    private const string ZoneLabel = "topology.kubernetes.io/zone";
    private const int KubePort = 6443;

    private readonly LabOptions _options;
    private readonly TextWriter _progress;
    private readonly LabFabric _fabric = new();
    private readonly List<Process> _daemons = [];
    private readonly List<LabPod> _pods = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly BlockingCollection<SimulatedVpcChangeEventArgs> _changes = new();
    private readonly Dictionary<string, int> _nodeOfInstance = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _routerLinkOfEni = new(StringComparer.Ordinal);
    private SimulatedCluster? _cluster;
    private CloudEmulatorServer? _imds;
    private CloudEmulatorServer? _ec2;
    private KubernetesApiEmulator? _kube;
    private SimulatedCustomNetwork? _customNetwork;
    private SimulatedFragmentation? _fragmentation;
    private readonly ConcurrentDictionary<string, IPAddress> _subnetGateway = new(StringComparer.Ordinal);
    private Thread? _changeWorker;
    private Exception? _changeFailure;

    public Lab(LabOptions options, TextWriter progress)
    {
        _options = options;
        _progress = progress;
    }

    public IReadOnlyList<LabPod> Pods => _pods;

    public SimulatedCluster Cluster => _cluster ?? throw new InvalidOperationException("the lab is not built");

    /// <summary>The cluster's address families (--ipv6, --v6-egress).</summary>
    public LabFamily Family => _options.IPv6 ? LabFamily.IPv6 : _options.V6Egress ? LabFamily.IPv4WithV6Egress : LabFamily.IPv4;

    /// <summary>Node <paramref name="node"/>'s IPv6 address (its primary ENI's, IMDS <c>ipv6</c>); null in an IPv4-only lab.</summary>
    public IPAddress? NodeIPv6(int node) =>
        Cluster.Nodes[node - 1].NetworkInterfaces.Single(e => e.Attachment?.DeviceIndex == 0).IPv6Addresses is [var first, ..] ? first : null;

    /// <summary>The emulator's Kubernetes API (null when <see cref="LabOptions.KubernetesApi"/> is off).</summary>
    public KubernetesApiEmulator? Kubernetes => _kube;

    /// <summary>Custom networking's pod subnets (null without --custom-networking).</summary>
    public SimulatedCustomNetwork? CustomNetwork => _customNetwork;

    /// <summary>The Node name of node <paramref name="node"/> (its private DNS name).</summary>
    public string NodeName(int node) => KubeNodeFactoryName(Cluster.Nodes[node - 1]);

    /// <summary>The process id of node <paramref name="node"/>'s daemon (0 if not started).</summary>
    public int DaemonPid(int node) => node <= _daemons.Count ? _daemons[node - 1].Id : 0;

    /// <summary>Node <paramref name="node"/>'s checkpoint (AWS_VPC_K8S_CNI_BACKING_STORE), in its state directory.</summary>
    public string CheckpointPath(int node) => Path.Combine(StateDir(node), "ipam.json");

    /// <summary>Copies every node's logs (daemon and plugin) to <paramref name="destination"/>, for a failed run.</summary>
    public void SaveLogs(string destination)
    {
        for (var node = 1; node <= _options.Nodes; node++)
        {
            var source = Path.Combine(NodeDir(node), "log");
            if (!Directory.Exists(source))
            {
                continue;
            }

            var target = Path.Combine(destination, $"node{node}");
            Directory.CreateDirectory(target);
            foreach (var file in Directory.GetFiles(source))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
            }
        }
    }

    /// <summary>Node <paramref name="node"/>'s state directory (a small tmpfs with <see cref="LabOptions.StateOnTmpfs"/>).</summary>
    public string StateDir(int node) => Path.Combine(NodeDir(node), "state");

    /// <summary>The netlink client of a lab namespace (short name: node1, n1p1, vpc, ...).</summary>
    public VpcCni.Linux.Netlink.RtNetlinkClient Netlink(string ns) => _fabric.Netlink(ns);

    /// <summary>Whether node <paramref name="node"/>'s daemon process is running.</summary>
    public bool DaemonRunning(int node) => node <= _daemons.Count && !_daemons[node - 1].HasExited;

    /// <summary>Builds the whole lab; throws <see cref="LabStepException"/> naming the step that failed.</summary>
    public async Task BuildAsync(CancellationToken cancellationToken)
    {
        await Step("clean up leftovers of earlier runs", () =>
        {
            LabFabric.RemoveAll();
            LabMounts.UnmountUnder(_options.WorkDirectory);
            if (Directory.Exists(_options.WorkDirectory))
            {
                Directory.Delete(_options.WorkDirectory, recursive: true);
            }

            return Task.CompletedTask;
        });

        await Step($"simulated VPC with {_options.Nodes} × {_options.InstanceType}", () =>
        {
            // Dual-stack: the VPC gets a unique-local /56 and every new ENI (the primary ones too) an IPv6 address of its subnet's /64.
            var vpcOptions = _options.DualStack
                ? new SimulatedVpcOptions { Ipv6Pool = IPNetwork.Parse(_options.Ipv6Pool), AssignIpv6AddressOnCreation = true }
                : null;
            _cluster = SimulatedCluster.Create(_options.InstanceType, _options.Nodes, subnetPrefixLength: 20, options: vpcOptions);
            for (var i = 0; i < _cluster.Nodes.Count; i++)
            {
                _nodeOfInstance[_cluster.Nodes[i].InstanceId] = i + 1;
            }

            _subnetGateway[_cluster.Subnet.SubnetId] = Gateway;
            if (_options.DualStack)
            {
                _progress.WriteLine($"  ↳ VPC IPv6 block {string.Join(", ", _cluster.VpcInfo.Ipv6Cidrs)}, node subnet {_cluster.Subnet.Ipv6Cidr}; nodes' IPv6: {string.Join(", ", Enumerable.Range(1, _options.Nodes).Select(NodeIPv6))}");
            }

            return Task.CompletedTask;
        });

        if (_options.FragmentedSubnet)
        {
            await Step("fragment the node subnet: one address taken in each free /28 (other tenants), so EC2 refuses prefixes", () =>
            {
                _fragmentation = Cluster.Vpc.FragmentSubnet(Cluster.Subnet.SubnetId);
                _progress.WriteLine($"  ↳ {_fragmentation.Addresses.Count} addresses taken in {Cluster.Subnet.SubnetId}; free /28 blocks left: {Cluster.Vpc.FreePrefixCount(Cluster.Subnet.SubnetId)}");
                return Task.CompletedTask;
            });
        }

        if (_options.CustomNetworking)
        {
            await Step($"custom networking: VPC CIDR {_options.CustomNetworkCidr} with a pod subnet per zone and a pod security group", () =>
            {
                _customNetwork = Cluster.AddCustomNetworkingSubnets(IPNetwork.Parse(_options.CustomNetworkCidr), subnetPrefixLength: 20);
                foreach (var subnet in _customNetwork.Subnets)
                {
                    _subnetGateway[subnet.SubnetId] = FirstHost(subnet.Cidr);
                    _progress.WriteLine($"  ↳ {subnet.SubnetId} {subnet.Cidr} in {subnet.AvailabilityZone}");
                }

                return Task.CompletedTask;
            });
        }

        await Step("VPC fabric, internet gateway and hosts", () =>
        {
            BuildFabric();
            return Task.CompletedTask;
        });

        await Step("cloud emulator (EC2 at 10.0.255.254:8080, IMDS at 169.254.169.254) inside the VPC namespace", () =>
        {
            _ec2 = new CloudEmulatorServer(Cluster.Vpc, $"http://{Ec2Address}:8080/");
            _imds = new CloudEmulatorServer(Cluster.Vpc, $"http://{ImdsAddress}:80/");
            _fabric.Inside("vpc", () =>
            {
                _ec2.Start();
                _imds.Start();
            });
            return Task.CompletedTask;
        });

        if (_options.KubernetesApi)
        {
            await Step($"Kubernetes API at http://{Ec2Address}:{KubePort} inside the VPC namespace (one Node per instance)", () =>
            {
                StartKubernetesApi();
                return Task.CompletedTask;
            });
        }

        Cluster.Vpc.Changed += (_, change) => _changes.Add(change);
        _changeWorker = new Thread(ApplyChanges) { IsBackground = true, Name = "vpclab-fabric" };
        _changeWorker.Start();

        for (var node = 1; node <= _options.Nodes; node++)
        {
            var n = node;
            await Step($"node {n}: namespace and primary ENI", () =>
            {
                BuildNode(n);
                return Task.CompletedTask;
            });
            await Step($"node {n}: vpc-cni-ipamd init (plugin + conflist into node-private directories)", () => InitNodeAsync(n, cancellationToken));
            await Step($"node {n}: vpc-cni-ipamd run --cloud aws (real AWS provider over the wire)", () => StartDaemonAsync(n, cancellationToken));
            if (_options.IPv6)
            {
                await Step($"node {n}: the VPC routes the /80 prefix EC2 delegated to the primary ENI", () => RouteIpv6PrefixesAsync(n, cancellationToken));
            }
        }

        for (var node = 1; node <= _options.Nodes; node++)
        {
            for (var p = 1; p <= _options.PodsPerNode; p++)
            {
                var (n, m) = (node, p);
                await Step($"node {n}: ADD pod {m} through the plugin (libcni)", () => AddPodAsync(n, m, cancellationToken));
            }
        }

        ThrowIfFabricFailed();
        foreach (var pod in _pods)
        {
            pod.OnSecondaryEni = _fabric.Netlink(NodeNs(pod.Node)).GetRules()
                .Any(r => r.Priority == 1536 && r.Source is { } s && s.BaseAddress.Equals(pod.Address));
        }
    }

    /// <summary>Sends real packets along every path and reports what the far end saw.</summary>
    public async Task<IReadOnlyList<PathResult>> VerifyAsync(CancellationToken cancellationToken)
    {
        using var prober = new PathProber(_fabric, _pods, [.. Cluster.Nodes.Select(n => n.PrivateIPv4)], Family,
            [.. Enumerable.Range(1, _options.Nodes).Select(NodeIPv6)]);
        var paths = await prober.RunAsync(cancellationToken);
        return [.. paths, .. PrefixChecks(), .. Ipv6Checks(), .. EgressInterfaceChecks(), .. await KubernetesChecksAsync(cancellationToken), .. await FragmentationChecksAsync(cancellationToken)];
    }

    /// <summary>IPv6 cluster: every pod's /128 lies in the /80 prefix its node's primary ENI holds in EC2.</summary>
    private List<PathResult> Ipv6Checks()
    {
        var rows = new List<PathResult>();
        if (!_options.IPv6)
        {
            return rows;
        }

        foreach (var pod in _pods)
        {
            var prefixes = Cluster.Vpc.GetInstanceView(Cluster.Nodes[pod.Node - 1].InstanceId).NetworkInterfaces
                .Where(e => e.Attachment?.DeviceIndex == 0).SelectMany(e => e.IPv6Prefixes).ToList();
            var prefix = prefixes.FirstOrDefault(p => p.Contains(pod.Address));
            var found = prefix.PrefixLength == 80;
            rows.Add(new PathResult("address from the node's /80 prefix", pod.Name, $"node {pod.Node}", "a delegated /80", found ? prefix.ToString() : "(none)", found));
        }

        return rows;
    }

    /// <summary>
    /// egress-cni's interface in every pod: v4if0 with an address of 169.254.172.0/22 (IPv6 cluster) or v6if0 with one of
    /// fd00::ac:00/118 (ENABLE_V6_EGRESS), as the kernel shows it in the pod's namespace.
    /// </summary>
    private List<PathResult> EgressInterfaceChecks()
    {
        var rows = new List<PathResult>();
        if (!_options.DualStack)
        {
            return rows;
        }

        var (name, range) = _options.IPv6 ? ("v4if0", EgressV4Range) : ("v6if0", EgressV6Range);
        foreach (var pod in _pods)
        {
            var netlink = _fabric.Netlink(pod.Name);
            var link = netlink.FindLinkByName(name);
            var addresses = link is null ? [] : netlink.GetAddresses(range.BaseAddress.AddressFamily, link.Index).Where(a => range.Contains(a.Address)).ToList();
            var seen = link is null ? $"no {name}" : addresses.Count == 1 ? $"{addresses[0].Address}" : $"{addresses.Count} addresses in {range}";
            rows.Add(new PathResult("egress-cni interface", pod.Name, name, range.ToString(), seen, link is not null && addresses.Count == 1));
        }

        return rows;
    }

    /// <summary>Under prefix delegation: every pod's address lies in a /28 prefix its node's ENIs hold in EC2.</summary>
    private List<PathResult> PrefixChecks()
    {
        var rows = new List<PathResult>();
        if (!_options.PrefixDelegation)
        {
            return rows;
        }

        foreach (var pod in _pods)
        {
            rows.Add(_fragmentation is null ? PrefixRow(pod) : FallbackRow(pod));
        }

        return rows;
    }

    private PathResult PrefixRow(LabPod pod)
    {
        var prefixes = Cluster.Vpc.GetInstanceView(Cluster.Nodes[pod.Node - 1].InstanceId).NetworkInterfaces.SelectMany(e => e.IPv4Prefixes).ToList();
        var prefix = prefixes.FirstOrDefault(p => p.Contains(pod.Address));
        return new PathResult("address from a /28 prefix", pod.Name, $"node {pod.Node}", "a delegated /28", prefix.PrefixLength == 28 ? prefix.ToString() : "(none)", prefix.PrefixLength == 28);
    }

    /// <summary>On the fragmented subnet: the pod's address is a secondary /32 of an ENI (no /28 holds it).</summary>
    private PathResult FallbackRow(LabPod pod)
    {
        var enis = Cluster.Vpc.GetInstanceView(Cluster.Nodes[pod.Node - 1].InstanceId).NetworkInterfaces;
        var secondary = enis.Any(e => e.SecondaryIPv4.Contains(pod.Address)) && !enis.SelectMany(e => e.IPv4Prefixes).Any(p => p.Contains(pod.Address));
        return new PathResult("address from a /32 (fallback)", pod.Name, $"node {pod.Node}", "a secondary /32", secondary ? $"{pod.Address}/32" : "(a prefix or none)", secondary);
    }

    /// <summary>
    /// The fragmented-subnet scenario's second half: each node reports its fallback; the subnet is defragmented; pods
    /// are added one by one (demand makes the pool grow; after the 120 s capacity back-off its growth asks for a /28
    /// again) until the node reports its return to prefixes; the pod added then is addressed from a /28.
    /// </summary>
    private async Task<IReadOnlyList<PathResult>> FragmentationChecksAsync(CancellationToken cancellationToken)
    {
        var rows = new List<PathResult>();
        if (_fragmentation is null)
        {
            return rows;
        }

        for (var node = 1; node <= _options.Nodes; node++)
        {
            var fallbacks = (await PoolAsync(node, cancellationToken))["PrefixFallback"]?["Fallbacks"]?.GetValue<long>() ?? 0;
            rows.Add(new PathResult("fallback to /32 (InsufficientCidrBlocks)", $"node {node}", "/v1/pool", "≥ 1 fallback", $"{fallbacks} fallback(s)", fallbacks >= 1));
        }

        _fragmentation.Defragment();
        _progress.WriteLine($"» defragment the node subnet: free /28 blocks now {Cluster.Vpc.FreePrefixCount(Cluster.Subnet.SubnetId)}");
        for (var node = 1; node <= _options.Nodes; node++)
        {
            var n = node;
            var returned = false;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
            var extra = 0;
            LabPod? last = null;
            while (!returned && DateTime.UtcNow < deadline)
            {
                extra++;
                var index = _options.PodsPerNode + extra;
                await Step($"node {n}: ADD pod {index} (demand while the subnet has free /28s again)", () => AddPodAsync(n, index, cancellationToken));
                last = _pods[^1];
                for (var i = 0; i < 6 && !returned; i++)
                {
                    var pool = await PoolAsync(n, cancellationToken);
                    returned = (pool["PrefixFallback"]?["Returns"]?.GetValue<long>() ?? 0) >= 1;
                    if (!returned)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                    }
                }
            }

            rows.Add(new PathResult("return to prefixes", $"node {n}", "/v1/pool", "≥ 1 return", returned ? $"returned after {extra} more pod(s)" : "no return within 4 min", returned));
            if (returned)
            {
                // A pod added now is served from the prefixes the pool holds again.
                var index = _options.PodsPerNode + extra + 1;
                await Step($"node {n}: ADD pod {index} after the return", () => AddPodAsync(n, index, cancellationToken));
                rows.Add(PrefixRow(_pods[^1]) with { Path = "address from a /28 after the return" });
            }
        }

        return rows;
    }

    /// <summary>
    /// What the Kubernetes side must show: every pod's vpc.amazonaws.com/pod-ips annotation naming its address and,
    /// under custom networking, every pod addressed from its zone's ENIConfig subnet, the node's resolved ENIConfig in
    /// introspection and in its CNINode's features.
    /// </summary>
    private async Task<IReadOnlyList<PathResult>> KubernetesChecksAsync(CancellationToken cancellationToken)
    {
        var rows = new List<PathResult>();
        if (_kube is null)
        {
            return rows;
        }

        // The annotation is written after the ADD's reply, by a background writer: give it a moment.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        foreach (var pod in _pods)
        {
            string seen;
            while (true)
            {
                seen = JsonNode.Parse(_kube.GetJson("pods", "default", pod.Name) ?? "{}")?["metadata"]?["annotations"]?["vpc.amazonaws.com/pod-ips"]?.GetValue<string>() ?? "(none)";
                if (seen == pod.Address.ToString() || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(250, cancellationToken);
            }

            rows.Add(new PathResult("pod-ips annotation", pod.Name, "Kubernetes API", pod.Address.ToString(), seen, seen == pod.Address.ToString()));
        }

        if (_customNetwork is null)
        {
            return rows;
        }

        foreach (var pod in _pods)
        {
            var subnet = _customNetwork.SubnetIn(Cluster.Nodes[pod.Node - 1].AvailabilityZone);
            var inSubnet = subnet.Cidr.Contains(pod.Address);
            rows.Add(new PathResult("address from ENIConfig subnet", pod.Name, subnet.AvailabilityZone, subnet.Cidr.ToString(), pod.Address.ToString(), inSubnet));
        }

        for (var node = 1; node <= _options.Nodes; node++)
        {
            var zone = Cluster.Nodes[node - 1].AvailabilityZone;
            var resolved = (await IntrospectAsync(node, "/v1/eni-configs", cancellationToken)).GetValue<string>();
            rows.Add(new PathResult("ENIConfig in introspection", $"node {node}", "/v1/eni-configs", zone, resolved, resolved == zone));
            var feature = "(none)";
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (true)
            {
                var features = JsonNode.Parse(_kube.GetJson("cninodes", null, NodeName(node)) ?? "{}")?["spec"]?["features"]?.AsArray();
                feature = features?.Select(f => $"{f?["name"]}={f?["value"]}").FirstOrDefault(f => f.StartsWith("CustomNetworking=", StringComparison.Ordinal)) ?? "(none)";
                if (feature == $"CustomNetworking={zone}" || DateTime.UtcNow > until)
                {
                    break;
                }

                await Task.Delay(250, cancellationToken);
            }

            rows.Add(new PathResult("CNINode feature", $"node {node}", "Kubernetes API", $"CustomNetworking={zone}", feature, feature == $"CustomNetworking={zone}"));
        }

        return rows;
    }

    /// <summary>DEL of every pod through the plugin, then waits for the pool to release everything and shrink.</summary>
    public async Task<IReadOnlyList<string>> DrainAsync(CancellationToken cancellationToken)
    {
        var report = new List<string>();
        if (_options.IPv6)
        {
            return await DrainIPv6Async(report, cancellationToken);
        }

        var peaks = new Dictionary<int, int>();
        for (var node = 1; node <= _options.Nodes; node++)
        {
            peaks[node] = (await PoolAsync(node, cancellationToken))["Enis"]!.GetValue<int>();
        }

        // What the daemon's settings converge to with no pods, computed by the engine's own planner.
        var converged = Ipam.PoolPlanner.Plan(VpcCni.Aws.Limits.InstanceLimitsCatalog.Get(_options.InstanceType), ConvergedOptions(), 0);
        var expected = converged.Enis;
        foreach (var pod in _pods.ToList())
        {
            await Step($"node {pod.Node}: DEL {pod.Name}", () => DeletePodAsync(pod, cancellationToken));
        }

        await AuditEgressAsync(report, cancellationToken);
        for (var node = 1; node <= _options.Nodes; node++)
        {
            var n = node;
            JsonNode pool = new JsonObject();
            await Step($"node {n}: every address back in the pool", async () =>
            {
                pool = await PoolAsync(n, cancellationToken);
                var assigned = pool["AssignedIPs"]?.GetValue<int>() ?? -1;
                if (assigned != 0)
                {
                    throw new InvalidOperationException($"{assigned} addresses still assigned after deleting every pod: {pool.ToJsonString()}");
                }
            });

            var peak = peaks[n];
            await Step($"node {n}: warm pool shrinks back to the planner's converged pool ({(_options.PrefixDelegation ? $"WARM_PREFIX_TARGET=1, no pods: {expected} ENI, {converged.TotalIps} addresses" : $"WARM_ENI_TARGET=1, no pods: {expected} ENI")})", async () =>
            {
                var deadline = DateTime.UtcNow + _options.ShrinkTimeout;
                while (true)
                {
                    pool = await PoolAsync(n, cancellationToken);
                    var enis = pool["Enis"]!.GetValue<int>();
                    // Prefix delegation also gives back the free /28s beyond WARM_PREFIX_TARGET.
                    if (enis == expected && (!_options.PrefixDelegation || pool["TotalIPs"]?.GetValue<int>() == converged.TotalIps))
                    {
                        report.Add($"node {n}: pool shrank from {peak} to {enis} ENIs ({pool["TotalIPs"]} addresses, 0 assigned)");
                        return;
                    }

                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"still {enis} ENIs after {_options.ShrinkTimeout.TotalSeconds:0} s: {pool.ToJsonString()}");
                    }

                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                }
            });
        }

        return report;
    }

    /// <summary>
    /// An IPv6 cluster's drain: DEL of every pod, then each node's checkpoint holds no /128 (upstream's ipv6 entries are
    /// rewritten on every release) and nothing of egress-cni is left. There is no pool to shrink: upstream keeps the
    /// primary ENI's /80 and runs no pool loop in IPv6 mode.
    /// </summary>
    private async Task<IReadOnlyList<string>> DrainIPv6Async(List<string> report, CancellationToken cancellationToken)
    {
        foreach (var pod in _pods.ToList())
        {
            await Step($"node {pod.Node}: DEL {pod.Name}", () => DeletePodAsync(pod, cancellationToken));
        }

        await AuditEgressAsync(report, cancellationToken);
        for (var node = 1; node <= _options.Nodes; node++)
        {
            var n = node;
            await Step($"node {n}: every /128 released (the checkpoint records no IPv6 allocation)", () =>
            {
                var checkpoint = JsonNode.Parse(File.ReadAllText(CheckpointPath(n)));
                var held = checkpoint?["allocations"]?.AsArray().Where(a => a?["ipv6"] is not null).Select(a => a!["ipv6"]!.GetValue<string>()).ToList() ?? [];
                if (held.Count != 0)
                {
                    throw new InvalidOperationException($"{held.Count} IPv6 addresses still recorded after deleting every pod: {string.Join(", ", held)}");
                }

                var prefixes = Cluster.Vpc.GetInstanceView(Cluster.Nodes[n - 1].InstanceId).NetworkInterfaces.SelectMany(e => e.IPv6Prefixes).ToList();
                report.Add($"node {n}: every /128 released; the primary ENI keeps {string.Join(", ", prefixes)} (no pool loop in IPv6 mode)");
                return Task.CompletedTask;
            });
        }

        return report;
    }

    /// <summary>
    /// After every DEL, nothing of egress-cni may be left on a node: no CNI-E4-/CNI-E6- chain or POSTROUTING jump
    /// (iptables and ip6tables nat tables of the node's namespace), no egress host end or host route, and no address
    /// held in host-local's state directory.
    /// </summary>
    private async Task AuditEgressAsync(List<string> report, CancellationToken cancellationToken)
    {
        if (!_options.DualStack)
        {
            return;
        }

        for (var node = 1; node <= _options.Nodes; node++)
        {
            var n = node;
            await Step($"node {n}: nothing of egress-cni left (CNI-E4-/CNI-E6- chains in iptables and ip6tables, host ends, host routes, host-local state)", async () =>
            {
                var problems = new List<string>();
                foreach (var tool in new[] { "iptables-save", "ip6tables-save" })
                {
                    var saved = await RunInNodeAsync(n, tool, ["-t", "nat"], new Dictionary<string, string>(), cancellationToken);
                    if (saved.ExitCode != 0)
                    {
                        problems.Add($"{tool} exited {saved.ExitCode}: {saved.Stderr.Trim()}");
                        continue;
                    }

                    problems.AddRange(saved.Stdout.Split('\n').Where(l => l.Contains("CNI-E4-", StringComparison.Ordinal) || l.Contains("CNI-E6-", StringComparison.Ordinal)).Select(l => $"{tool}: {l}"));
                }

                var netlink = _fabric.Netlink(NodeNs(n));
                // Egress host ends are named veth + 8 hex digits (EgressDatapath); the pods' own host ends are gone with their DEL too.
                problems.AddRange(netlink.GetLinks().Where(l => l.Name.StartsWith("veth", StringComparison.Ordinal)).Select(l => $"link {l.Name}"));
                foreach (var range in new[] { EgressV4Range, EgressV6Range })
                {
                    problems.AddRange(netlink.GetRoutes(new RouteFilter { Family = range.BaseAddress.AddressFamily, Table = RouteTable.Main })
                        .Where(r => range.Contains(r.Destination.BaseAddress)).Select(r => $"route {r.Destination}"));
                }

                var state = EgressStateDir(n);
                if (Directory.Exists(state))
                {
                    // host-local keeps one file per held address (named after it) beside its lock and last_reserved_ip.* files.
                    problems.AddRange(Directory.EnumerateFiles(state, "*", SearchOption.AllDirectories)
                        .Select(Path.GetFileName)
                        .Where(f => f is not null && f != "lock" && !f.StartsWith("last_reserved_ip", StringComparison.Ordinal))
                        .Select(f => $"host-local still holds {f}"));
                }

                if (problems.Count != 0)
                {
                    throw new InvalidOperationException(string.Join("; ", problems));
                }

                report.Add($"node {n}: no CNI-E4-/CNI-E6- chain, egress host end, egress route or host-local allocation left");
            });
        }
    }

    /// <summary>The daemons' pool settings, for the planner's prediction of the pool with no pods.</summary>
    private Ipam.IpamOptions ConvergedOptions() => _options.PrefixDelegation
        ? new Ipam.IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1, WarmEniTarget = 1, UseCustomNetworking = _options.CustomNetworking, MaxPods = _options.MaxPods }
        : new Ipam.IpamOptions { WarmEniTarget = 1, UseCustomNetworking = _options.CustomNetworking, MaxPods = _options.MaxPods };

    /// <summary>Stops what the lab started (by process id) and deletes every namespace, link and file it made.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var daemon in _daemons)
        {
            try
            {
                if (!daemon.HasExited)
                {
                    daemon.Kill(entireProcessTree: true);
                    await daemon.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
            }

            daemon.Dispose();
        }

        _changes.CompleteAdding();
        _changeWorker?.Join(TimeSpan.FromSeconds(5));
        if (_ec2 is not null)
        {
            await _ec2.DisposeAsync();
        }

        if (_imds is not null)
        {
            await _imds.DisposeAsync();
        }

        if (_kube is not null)
        {
            await _kube.DisposeAsync();
        }

        _fragmentation?.Dispose();

        _fabric.Dispose();
        LabFabric.RemoveAll();
        LabMounts.UnmountUnder(_options.WorkDirectory);
        try
        {
            if (Directory.Exists(_options.WorkDirectory))
            {
                Directory.Delete(_options.WorkDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
        }

        _stop.Dispose();
        _changes.Dispose();
    }

    private static string NodeNs(int node) => $"node{node}";

    private string NodeDir(int node) => Path.Combine(_options.WorkDirectory, $"node{node}");

    private async Task Step(string name, Func<Task> action)
    {
        _progress.WriteLine($"» {name}");
        try
        {
            await action();
            ThrowIfFabricFailed();
        }
        catch (LabStepException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new LabStepException(name, ex.Message, ex);
        }
    }

    private void ThrowIfFabricFailed()
    {
        if (_changeFailure is { } failure)
        {
            throw new LabStepException("follow EC2 changes in the VPC fabric", failure.Message, failure);
        }
    }

    private void BuildFabric()
    {
        _fabric.CreateNamespace("vpc", forwarding: true, proxyArp: true, ipv6Forwarding: _options.DualStack);
        _fabric.CreateNamespace("igw", forwarding: true, ipv6Forwarding: _options.DualStack);
        _fabric.CreateNamespace("svc", forwarding: false);
        _fabric.CreateNamespace("onprem", forwarding: false);
        _fabric.CreateNamespace("inet", forwarding: false);

        var lo = _fabric.Netlink("vpc").FindLinkByName("lo")!.Index;
        _fabric.Address("vpc", lo, ImdsAddress, 32);
        _fabric.Address("vpc", lo, Ec2Address, 32);

        Host("svc", "vsvc", IPAddress.Parse("10.0.200.1"), ServiceHost, 24);
        Host("onprem", "vonprem", IPAddress.Parse("203.0.113.1"), OnPremHost, 24);

        // VPC router ⇄ internet gateway (a documentation /30), gateway ⇄ internet host.
        var (routerSide, igwSide) = _fabric.Connect("vpc", "vigw", "igw", "igwvpc");
        _fabric.Up("vpc", routerSide);
        _fabric.Address("vpc", routerSide, IPAddress.Parse("192.0.2.1"), 30);
        _fabric.Address("igw", igwSide, IPAddress.Parse("192.0.2.2"), 30);
        _fabric.Route("vpc", IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("192.0.2.2"));
        _fabric.Route("igw", IPNetwork.Parse("10.0.0.0/16"), IPAddress.Parse("192.0.2.1"));
        var (igwInet, inetSide) = _fabric.Connect("igw", "igwinet", "inet", "eth0");
        _fabric.Up("igw", igwInet);
        _fabric.Address("igw", igwInet, IPAddress.Parse("198.51.100.1"), 24);
        _fabric.Address("inet", inetSide, InternetHost, 24);
        _fabric.Route("inet", IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("198.51.100.1"));
        if (_options.DualStack)
        {
            BuildIpv6Fabric(routerSide, igwSide);
        }
    }

    /// <summary>
    /// The IPv6 half of a dual-stack lab: the AWS service also on fd00:ec2:0:c8::10 (a /64 of the VPC's block), the
    /// VPC router's default route to the internet gateway over 2001:db8:ff::/64, and an IPv6-only internet host
    /// 2001:db8:100::10 behind the gateway (the IPv4 internet host stays IPv4-only). Documentation and unique-local
    /// ranges only; nothing leaves the lab's namespaces.
    /// </summary>
    private void BuildIpv6Fabric(int routerSide, int igwSide)
    {
        _fabric.CreateNamespace("inet6", forwarding: false);
        var svcRouter = _fabric.Netlink("vpc").FindLinkByName("vsvc")!.Index;
        var svcHost = _fabric.Netlink("svc").FindLinkByName("eth0")!.Index;
        _fabric.Address("vpc", svcRouter, ServiceRouterV6, 64);
        _fabric.Address("svc", svcHost, PathProber.ServiceHostV6, 64);
        _fabric.Route("svc", IPNetwork.Parse("::/0"), ServiceRouterV6);

        _fabric.Address("vpc", routerSide, VpcIgwV6, 64);
        _fabric.Address("igw", igwSide, IgwVpcV6, 64);
        _fabric.Route("vpc", IPNetwork.Parse("::/0"), IgwVpcV6);
        foreach (var block in Cluster.VpcInfo.Ipv6Cidrs)
        {
            _fabric.Route("igw", block, VpcIgwV6);
        }

        var (igwInet6, inet6Side) = _fabric.Connect("igw", "igwinet6", "inet6", "eth0");
        _fabric.Up("igw", igwInet6);
        _fabric.Address("igw", igwInet6, InternetRouterV6, 64);
        _fabric.Address("inet6", inet6Side, PathProber.InternetHostV6, 64);
        _fabric.Route("inet6", IPNetwork.Parse("::/0"), InternetRouterV6);
    }

    private void Host(string ns, string routerLink, IPAddress routerAddress, IPAddress hostAddress, int prefix)
    {
        var (router, host) = _fabric.Connect("vpc", routerLink, ns, "eth0");
        _fabric.Up("vpc", router);
        _fabric.Address("vpc", router, routerAddress, prefix);
        _fabric.Address(ns, host, hostAddress, prefix);
        _fabric.Route(ns, IPNetwork.Parse("0.0.0.0/0"), routerAddress);
    }

    private void BuildNode(int node)
    {
        var instance = Cluster.Nodes[node - 1];
        _fabric.CreateNamespace(NodeNs(node), forwarding: true);
        var primary = instance.NetworkInterfaces.Single(e => e.Attachment?.DeviceIndex == 0);
        PlugEni(node, primary);
        var eth0 = _fabric.Netlink(NodeNs(node)).FindLinkByName("eth0")!.Index;
        _fabric.Up(NodeNs(node), eth0);
        _fabric.Address(NodeNs(node), eth0, primary.PrimaryIPv4, Cluster.Subnet.Cidr.PrefixLength);
        _fabric.Route(NodeNs(node), IPNetwork.Parse("0.0.0.0/0"), Gateway);
        if (primary.IPv6Addresses is [var ipv6, ..])
        {
            // What the instance learns from EC2 (DHCPv6 and the router's advertisement): its address and the router.
            _fabric.Address(NodeNs(node), eth0, ipv6, 128);
            _fabric.Route(NodeNs(node), IPNetwork.Parse("::/0"), RouterLinkLocal, eth0);
        }

        Directory.CreateDirectory(Path.Combine(NodeDir(node), "bin"));
        Directory.CreateDirectory(Path.Combine(NodeDir(node), "net.d"));
        Directory.CreateDirectory(Path.Combine(NodeDir(node), "log"));
        Directory.CreateDirectory(StateDir(node));
        if (_options.StateOnTmpfs)
        {
            LabMounts.MountTmpfs(StateDir(node), LabMounts.StateTmpfsBytes);
        }
    }

    /// <summary>What EC2 does on attach: the ENI appears as a link with its MAC on the instance, wired to the VPC.</summary>
    private void PlugEni(int node, SimulatedEni eni)
    {
        var device = eni.Attachment?.DeviceIndex ?? 0;
        var routerLink = $"n{node}d{device}";
        var (_, router) = _fabric.Connect(NodeNs(node), $"eth{device}", "vpc", routerLink, PhysicalAddress.Parse(eni.MacAddress.Replace(':', '-').ToUpperInvariant()));
        // The subnet's router (its first address) answers on every ENI link of that subnet, as EC2's does.
        _fabric.Address("vpc", router, _subnetGateway.GetValueOrDefault(eni.SubnetId, Gateway), 32);
        _fabric.Route("vpc", new IPNetwork(eni.PrimaryIPv4, 32), device: router);
        if (_options.DualStack)
        {
            // The VPC router's IPv6 side on the ENI's link: fe80::1 and a host route to the ENI's own IPv6 address.
            _fabric.Address("vpc", router, RouterLinkLocal, 64);
            foreach (var ipv6 in eni.IPv6Addresses)
            {
                _fabric.Route("vpc", new IPNetwork(ipv6, 128), device: router);
            }
        }

        _routerLinkOfEni[eni.NetworkInterfaceId] = routerLink;
        RouteCidrs(eni.NetworkInterfaceId, eni.PrimaryIPv4, [.. eni.SecondaryIPv4.Select(a => new IPNetwork(a, 32)), .. eni.IPv4Prefixes]);
    }

    private void RouteCidrs(string eniId, IPAddress eniPrimary, IEnumerable<IPNetwork> cidrs)
    {
        if (!_routerLinkOfEni.TryGetValue(eniId, out var linkName))
        {
            return;
        }

        var link = _fabric.Netlink("vpc").FindLinkByName(linkName)!.Index;
        foreach (var cidr in cidrs)
        {
            if (!cidr.BaseAddress.Equals(eniPrimary))
            {
                _fabric.Route("vpc", cidr, eniPrimary, link, RouteScope.Universe);
            }
        }
    }

    /// <summary>Applies EC2's attach/detach/assign/unassign to the fabric as they happen (events, not polling).</summary>
    private void ApplyChanges()
    {
        try
        {
            foreach (var change in _changes.GetConsumingEnumerable())
            {
                var eni = change.Eni;
                switch (change.Kind)
                {
                    case SimulatedVpcChangeKind.EniAttached when change.InstanceId is { } id && _nodeOfInstance.TryGetValue(id, out var node):
                        if (!_routerLinkOfEni.ContainsKey(eni.NetworkInterfaceId))
                        {
                            PlugEni(node, eni);
                            _progress.WriteLine($"  ↳ EC2 attached {eni.NetworkInterfaceId} ({eni.MacAddress}) to node {node} as eth{eni.Attachment?.DeviceIndex}");
                        }

                        break;
                    case SimulatedVpcChangeKind.AddressesAssigned:
                        RouteCidrs(eni.NetworkInterfaceId, eni.PrimaryIPv4, change.Cidrs);
                        break;
                    case SimulatedVpcChangeKind.AddressesUnassigned:
                        foreach (var cidr in change.Cidrs)
                        {
                            _fabric.DeleteRoute("vpc", cidr);
                        }

                        break;
                    case SimulatedVpcChangeKind.EniDetached:
                        if (_routerLinkOfEni.TryRemove(eni.NetworkInterfaceId, out var link))
                        {
                            foreach (var cidr in change.Cidrs)
                            {
                                _fabric.DeleteRoute("vpc", cidr);
                            }

                            _fabric.DeleteRoute("vpc", new IPNetwork(eni.PrimaryIPv4, 32));
                            _fabric.DeleteLink("vpc", link);
                            _progress.WriteLine($"  ↳ EC2 detached {eni.NetworkInterfaceId}");
                        }

                        break;
                }
            }
        }
#pragma warning disable CA1031 // Reported by the next step instead of tearing down the process.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _changeFailure = ex;
        }
    }

    private Dictionary<string, string> DaemonEnvironment(int node) => new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = "vpclab",
        ["AWS_SECRET_ACCESS_KEY"] = "vpclab-secret",
        ["AWS_REGION"] = "us-west-2",
        ["AWS_ENDPOINT_URL_EC2"] = $"http://{Ec2Address}:8080/",
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = $"http://{ImdsAddress}/",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"] = OnPremCidr,
        ["AWS_VPC_K8S_PLUGIN_LOG_FILE"] = Path.Combine(NodeDir(node), "log", "plugin.log"),
        ["AWS_VPC_K8S_PLUGIN_LOG_LEVEL"] = "Debug",
        ["IP_COOLDOWN_PERIOD"] = "5",
        ["AWS_VPC_K8S_CNI_LOGLEVEL"] = "Information",
        ["AWS_VPC_K8S_CNI_LOG_FILE"] = "stdout",
    }.Concat(PoolEnvironment()).Concat(FamilyEnvironment(node)).Concat(KubernetesEnvironment(node)).Concat(_options.DaemonEnvironment).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>The daemon's Kubernetes side: the emulator's API, its Node, the pod-IP annotation, custom networking.</summary>
    private IEnumerable<KeyValuePair<string, string>> KubernetesEnvironment(int node)
    {
        if (_kube is null)
        {
            yield break;
        }

        yield return new("VPC_CNI_KUBE_SERVER", $"http://{Ec2Address}:{KubePort}/");
        yield return new("MY_NODE_NAME", NodeName(node));
        yield return new("ANNOTATE_POD_IP", "true");
        if (_options.CustomNetworking)
        {
            yield return new("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true");
            yield return new("ENI_CONFIG_LABEL_DEF", ZoneLabel);
        }
    }

    /// <summary>
    /// The address families: an IPv6 cluster (ENABLE_IPv6=true, ENABLE_IPv4=false, prefix delegation) with IPv4 egress
    /// (ENABLE_V4_EGRESS, upstream's default true), or IPv6 egress for an IPv4 cluster (ENABLE_V6_EGRESS=true); the
    /// egress plugin logs beside the node's other logs.
    /// </summary>
    private IEnumerable<KeyValuePair<string, string>> FamilyEnvironment(int node)
    {
        if (_options.IPv6)
        {
            yield return new("ENABLE_IPv6", "true");
            yield return new("ENABLE_IPv4", "false");
            yield return new("ENABLE_PREFIX_DELEGATION", "true");
            // aws-node's manifest value; ignored in IPv6 mode (no pool loop), but prefix delegation's validation wants a target.
            yield return new("WARM_PREFIX_TARGET", "1");
            yield return new("ENABLE_V4_EGRESS", "true");
            yield return new("AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE", Path.Combine(NodeDir(node), "log", "egress-v4-plugin.log"));
        }
        else if (_options.V6Egress)
        {
            yield return new("ENABLE_V6_EGRESS", "true");
            yield return new("AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE", Path.Combine(NodeDir(node), "log", "egress-v6-plugin.log"));
        }
    }

    /// <summary>The pool settings of the mode: prefix delegation keeps one warm /28, otherwise one warm ENI.</summary>
    private IEnumerable<KeyValuePair<string, string>> PoolEnvironment()
    {
        if (_options.PrefixDelegation)
        {
            yield return new("ENABLE_PREFIX_DELEGATION", "true");
            yield return new("WARM_PREFIX_TARGET", "1");
        }

        // aws-node's manifest default; in prefix delegation WARM_PREFIX_TARGET decides, as upstream.
        yield return new("WARM_ENI_TARGET", "1");
    }

    /// <summary>
    /// The API server the daemons watch, in the VPC namespace beside EC2; under custom networking what an operator adds:
    /// an ENIConfig per zone, the node's pod capacity for custom networking (as EKS's max-pods calculator gives it), and
    /// the CNINode the VPC resource controller creates per node.
    /// </summary>
    private void StartKubernetesApi()
    {
        _kube = new KubernetesApiEmulator(Cluster.Vpc, $"http://{Ec2Address}:{KubePort}/");
        _fabric.Inside("vpc", _kube.Start);
        if (_options.MaxPods is { } capacity)
        {
            // What a kubelet configured with --max-pods reports: the daemon's max pods in every mode.
            for (var node = 1; node <= _options.Nodes; node++)
            {
                _kube.SetNodePodCapacity(NodeName(node), capacity);
            }

            _progress.WriteLine($"  ↳ nodes' pod capacity {capacity} (--max-pods)");
        }

        if (_customNetwork is null)
        {
            return;
        }

        foreach (var subnet in _customNetwork.Subnets)
        {
            _kube.Apply(new JsonObject
            {
                ["apiVersion"] = "crd.k8s.amazonaws.com/v1alpha1",
                ["kind"] = "ENIConfig",
                ["metadata"] = new JsonObject { ["name"] = subnet.AvailabilityZone },
                ["spec"] = new JsonObject { ["subnet"] = subnet.SubnetId, ["securityGroups"] = new JsonArray(_customNetwork.SecurityGroupId) },
            }.ToJsonString());
            _progress.WriteLine($"  ↳ ENIConfig {subnet.AvailabilityZone}: subnet {subnet.SubnetId}, security group {_customNetwork.SecurityGroupId}");
        }

        var maxPods = _options.MaxPods ?? VpcCni.Ipam.MaxPodsCalculator.Calculate(
            VpcCni.Aws.Limits.InstanceLimitsCatalog.Get(_options.InstanceType), new VpcCni.Ipam.MaxPodsOptions(CustomNetworking: true, PrefixDelegation: _options.PrefixDelegation));
        for (var node = 1; node <= _options.Nodes; node++)
        {
            _kube.SetNodePodCapacity(NodeName(node), maxPods);
            _kube.Apply(new JsonObject
            {
                ["apiVersion"] = "vpcresources.k8s.aws/v1alpha1",
                ["kind"] = "CNINode",
                ["metadata"] = new JsonObject { ["name"] = NodeName(node) },
                ["spec"] = new JsonObject(),
            }.ToJsonString());
        }

        _progress.WriteLine($"  ↳ nodes' pod capacity {maxPods} (custom networking: the primary ENI carries no pods); a CNINode per node");
    }

    private string KubeNodeFactoryName(SimulatedInstance instance) =>
        _kube?.NodeName(instance) ?? instance.InstanceId;

    private static IPAddress FirstHost(IPNetwork subnet)
    {
        var bytes = subnet.BaseAddress.GetAddressBytes();
        bytes[3]++;
        return new IPAddress(bytes);
    }

    private async Task InitNodeAsync(int node, CancellationToken cancellationToken)
    {
        var dir = NodeDir(node);
        var result = await RunInNodeAsync(node, Path.Combine(_options.BinDirectory, "vpc-cni-ipamd"),
            ["init", "--plugin-source", Path.Combine(_options.BinDirectory, "vpc-cni"), "--cni-bin-dir", Path.Combine(dir, "bin"),
             "--cni-conf-dir", Path.Combine(dir, "net.d"), "--socket", Path.Combine(dir, "ipamd.sock")],
            DaemonEnvironment(node), cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"init exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        }

        File.Copy(_options.PortmapPlugin, Path.Combine(dir, "bin", "portmap"), overwrite: true);
        ConfigureEgressEntry(node);
    }

    /// <summary>
    /// Checks the egress-cni entry init always writes: enabled, with nodeIP the node's IPv4 in an IPv6 cluster or its IPv6
    /// with ENABLE_V6_EGRESS, and then given Debian's host-local (init installs it too) in the node's bin directory;
    /// otherwise (a plain IPv4 cluster) disabled with no nodeIP, as upstream's pass-through entry. The lab's nodes share
    /// one filesystem, so each node's host-local state moves from upstream's /run/cni/... path into the node's own
    /// directory, also for a disabled entry, which never uses it (the one change the lab makes to the conflist).
    /// </summary>
    private void ConfigureEgressEntry(int node)
    {
        var dir = NodeDir(node);
        var path = Path.Combine(dir, "net.d", "10-aws.conflist");
        var conflist = JsonNode.Parse(File.ReadAllText(path))!;
        var egress = conflist["plugins"]?.AsArray().FirstOrDefault(p => p?["type"]?.GetValue<string>() == "egress-cni")
            ?? throw new InvalidOperationException($"{path} has no egress-cni entry (init always writes one, as upstream)");
        var enabled = egress["enabled"]?.GetValue<string>();
        var nodeIP = egress["nodeIP"]?.GetValue<string>();
        var want = !_options.DualStack ? "" : (_options.IPv6 ? Cluster.Nodes[node - 1].PrivateIPv4 : NodeIPv6(node))?.ToString();
        var wantEnabled = _options.DualStack ? "true" : "false";
        if (enabled != wantEnabled || nodeIP != want)
        {
            throw new InvalidOperationException($"the egress-cni entry has enabled \"{enabled}\", nodeIP \"{nodeIP}\"; expected \"{wantEnabled}\" and nodeIP \"{want}\"");
        }

        if (_options.DualStack)
        {
            File.Copy(_options.HostLocalPlugin, Path.Combine(dir, "bin", "host-local"), overwrite: true);
        }

        egress["ipam"]!["dataDir"] = EgressStateDir(node);
        File.WriteAllText(path, conflist.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        _progress.WriteLine(_options.DualStack
            ? $"  ↳ egress-cni enabled, nodeIP {nodeIP}, {egress["ipam"]?["ranges"]?[0]?[0]?["subnet"]}; host-local state in {EgressStateDir(node)}"
            : "  ↳ egress-cni chained disabled (ENABLE_V6_EGRESS off): it passes the result through");
    }

    /// <summary>Node <paramref name="node"/>'s egress-cni host-local state directory (the conflist's ipam.dataDir).</summary>
    private string EgressStateDir(int node) => Path.Combine(NodeDir(node), "egress-ipam");

    /// <summary>
    /// What EC2's router knows after AssignIpv6Addresses: the primary ENI's /80 routed to the instance. The daemon asks
    /// for it before it serves, so it is there once the daemon is up.
    /// </summary>
    private async Task RouteIpv6PrefixesAsync(int node, CancellationToken cancellationToken)
    {
        var instance = Cluster.Nodes[node - 1];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var primary = Cluster.Vpc.GetInstanceView(instance.InstanceId).NetworkInterfaces.Single(e => e.Attachment?.DeviceIndex == 0);
            if (primary.IPv6Prefixes.Count > 0)
            {
                var nodeIPv6 = NodeIPv6(node) ?? throw new InvalidOperationException($"node {node}'s primary ENI has no IPv6 address");
                var link = _fabric.Netlink("vpc").FindLinkByName(_routerLinkOfEni[primary.NetworkInterfaceId])!.Index;
                foreach (var prefix in primary.IPv6Prefixes)
                {
                    _fabric.Route("vpc", prefix, nodeIPv6, link);
                }

                _progress.WriteLine($"  ↳ {primary.NetworkInterfaceId}: {string.Join(", ", primary.IPv6Prefixes)} via {nodeIPv6}");
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{primary.NetworkInterfaceId} has no IPv6 prefix 15 s after the daemon started serving");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private async Task StartDaemonAsync(int node, CancellationToken cancellationToken)
    {
        var dir = NodeDir(node);
        var log = Path.Combine(dir, "log", "ipamd.log");
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "netns", "exec", LabFabric.FullName(NodeNs(node)), Path.Combine(_options.BinDirectory, "vpc-cni-ipamd"), "run", "--cloud", "aws",
                     "--socket", Path.Combine(dir, "ipamd.sock"), "--checkpoint", CheckpointPath(node) })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in DaemonEnvironment(node))
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start vpc-cni-ipamd");
        if (node <= _daemons.Count)
        {
            _daemons[node - 1].Dispose();
            _daemons[node - 1] = process;
        }
        else
        {
            _daemons.Add(process);
        }

        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"vpc-cni-ipamd exited with {process.ExitCode}; last log lines:\n{Tail(log)}");
            }

            var health = await RunInNodeAsync(node, Path.Combine(_options.BinDirectory, "vpc-cni-ipamd"),
                ["health", "--socket", Path.Combine(dir, "ipamd.sock"), "--timeout", "2s"], new Dictionary<string, string>(), cancellationToken);
            if (health.ExitCode == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"vpc-cni-ipamd not SERVING after 90 s ({health.Stdout.Trim()} {health.Stderr.Trim()}); last log lines:\n{Tail(log)}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private async Task AddPodAsync(int node, int index, CancellationToken cancellationToken)
    {
        var name = $"n{node}p{index}";
        _fabric.CreateNamespace(name, forwarding: false);
        var containerId = $"vpclab{node}{index:D2}{Guid.NewGuid():N}"[..24];
        _kube?.PutPod("default", name, NodeName(node));
        var driver = await CniDriverAsync(node, "add", name, containerId, cancellationToken);
        var address = driver["result"]?["ips"]?[0]?["address"]?.GetValue<string>() ?? throw new InvalidOperationException($"ADD result has no address: {driver.ToJsonString()}");
        var pod = new LabPod(node, name, LabFabric.FullName(name), containerId, IPAddress.Parse(address.Split('/')[0]));
        _pods.Add(pod);
        _progress.WriteLine($"  ↳ {name}: {pod.Address}");
    }

    private async Task DeletePodAsync(LabPod pod, CancellationToken cancellationToken)
    {
        await CniDriverAsync(pod.Node, "del", pod.Name, pod.ContainerId, cancellationToken);
        _kube?.DeletePod("default", pod.Name);
        _pods.Remove(pod);
    }

    private async Task<JsonNode> CniDriverAsync(int node, string verb, string podNs, string containerId, CancellationToken cancellationToken)
    {
        var report = await CniAsync(node, verb, podNs, containerId, cancellationToken);
        if (report["ok"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"{verb} failed: {report["error"]?.ToJsonString()}");
        }

        return report;
    }

    /// <summary>One CNI call through libcni as the runtime makes it; the driver's report, ok or not.</summary>
    public async Task<JsonNode> CniAsync(int node, string verb, string podNs, string containerId, CancellationToken cancellationToken)
    {
        var dir = NodeDir(node);
        return await DriveAsync(node,
            [verb, "-conflist", Path.Combine(dir, "net.d", "10-aws.conflist"), "-plugin-dir", Path.Combine(dir, "bin"),
             "-netns", $"/run/netns/{LabFabric.FullName(podNs)}", "-cache-dir", Path.Combine(dir, "cache"),
             "-container-id", containerId, "-ifname", "eth0",
             "-args", $"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={podNs};K8S_POD_INFRA_CONTAINER_ID={containerId}",
             "-cap-args", """{"io.kubernetes.cri.pod-annotations":{},"portMappings":[]}"""],
            cancellationToken);
    }

    /// <summary>CNI GC through libcni: every attachment of the network not in <paramref name="validContainerIds"/> is released.</summary>
    public async Task<JsonNode> CniGcAsync(int node, IEnumerable<string> validContainerIds, CancellationToken cancellationToken)
    {
        var dir = NodeDir(node);
        return await DriveAsync(node,
            ["gc", "-conflist", Path.Combine(dir, "net.d", "10-aws.conflist"), "-plugin-dir", Path.Combine(dir, "bin"),
             "-cache-dir", Path.Combine(dir, "cache"), "-valid", string.Join(',', validContainerIds.Select(id => id + "/eth0"))],
            cancellationToken);
    }

    private async Task<JsonNode> DriveAsync(int node, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var result = await RunInNodeAsync(node, _options.CniDriver, args, new Dictionary<string, string>(), cancellationToken);
        try
        {
            return JsonNode.Parse(result.Stdout) ?? throw new InvalidOperationException($"cnidriver printed nothing (exit {result.ExitCode}): {result.Stderr}");
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"cnidriver printed no JSON (exit {result.ExitCode}): {result.Stdout}{result.Stderr}", ex);
        }
    }

    /// <summary>A pod sandbox's namespace, as the runtime makes it.</summary>
    public void CreatePodNamespace(string name) => _fabric.CreateNamespace(name, forwarding: false);

    /// <summary>Removes a pod sandbox's namespace (after its DEL).</summary>
    public void DeletePodNamespace(string name) => _fabric.DeleteNamespace(name);

    /// <summary>SIGKILL of node <paramref name="node"/>'s daemon (by the process id the lab started).</summary>
    public void KillDaemon(int node)
    {
        var daemon = _daemons[node - 1];
        if (!daemon.HasExited)
        {
            daemon.Kill();
            daemon.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM of node <paramref name="node"/>'s daemon; waits for its orderly stop (compaction included).</summary>
    public async Task StopDaemonAsync(int node, CancellationToken cancellationToken)
    {
        var daemon = _daemons[node - 1];
        if (daemon.HasExited)
        {
            return;
        }

        using var term = Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await term.WaitForExitAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await daemon.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            daemon.Kill();
            throw new TimeoutException($"node {node}: vpc-cni-ipamd did not stop within 30 s of SIGTERM");
        }
    }

    /// <summary>Starts node <paramref name="node"/>'s daemon again, as the DaemonSet would (again after a failed start, with
    /// back-off, up to five times), and waits until it serves.</summary>
    public async Task RestartDaemonAsync(int node, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartDaemonAsync(node, cancellationToken);
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 5 && !cancellationToken.IsCancellationRequested)
            {
                _progress.WriteLine($"  node {node}: vpc-cni-ipamd start {attempt} failed, restarting in {2 * attempt} s: {ex.Message}");
                await Task.Delay(TimeSpan.FromSeconds(2 * attempt), cancellationToken);
            }
        }
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunInNodeAsync(
        int node, string executable, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("netns");
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(LabFabric.FullName(NodeNs(node)));
        start.ArgumentList.Add(executable);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {executable}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(executable)} {string.Join(' ', args.Take(1))} did not finish in 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>GET /v1/pool of node <paramref name="node"/>'s introspection endpoint.</summary>
    public Task<JsonNode> PoolAsync(int node, CancellationToken cancellationToken) => IntrospectAsync(node, "/v1/pool", cancellationToken);

    /// <summary>GET a path of node <paramref name="node"/>'s introspection endpoint (127.0.0.1:61679 in its namespace).</summary>
    public async Task<JsonNode> IntrospectAsync(int node, string path, CancellationToken cancellationToken)
    {
        // Introspection listens on 127.0.0.1 inside the node namespace: connect from a socket made there.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = _fabric.Socket(NodeNs(node), SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, 61679, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        var body = await http.GetStringAsync(new Uri("http://127.0.0.1:61679" + path), cancellationToken);
        return JsonNode.Parse(body)!;
    }

    private static string Tail(string path)
    {
        try
        {
            return string.Join('\n', File.ReadLines(path).TakeLast(15));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}

/// <summary>A lab step failed; <see cref="Step"/> says which.</summary>
internal sealed class LabStepException(string step, string reason, Exception? inner = null)
    : Exception($"step \"{step}\" failed: {reason}", inner)
{
    public string Step { get; } = step;
}
