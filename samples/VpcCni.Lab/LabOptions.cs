namespace VpcCni.Lab;

/// <summary>What the lab builds and where it finds its binaries.</summary>
internal sealed record LabOptions
{
    public int Nodes { get; init; } = 2;

    /// <summary>Enough to need a second ENI on the default node type (t3.small: 3 pod addresses per ENI).</summary>
    public int PodsPerNode { get; init; } = 4;

    public string InstanceType { get; init; } = "t3.small";

    /// <summary>Whether --instance-type was given (chaos picks its own default otherwise).</summary>
    public bool InstanceTypeGiven { get; init; }

    /// <summary>Where vpc-cni, vpc-cni-ipamd and cnidriver are.</summary>
    public string BinDirectory { get; init; } = "";

    /// <summary>The libcni driver (tools/cnidriver, built into artifacts/tools/cnidriver).</summary>
    public string CniDriver { get; init; } = "";

    /// <summary>Debian's portmap, chained after our plugin.</summary>
    public string PortmapPlugin { get; init; } = "/usr/lib/cni/portmap";

    /// <summary>Node-private directories (sockets, checkpoints, CNI bin/conf, logs).</summary>
    public string WorkDirectory { get; init; } = "/run/vpclab";

    /// <summary>Whether --work-dir was given (otherwise it follows --name).</summary>
    public bool WorkDirectoryGiven { get; init; }

    public bool Keep { get; init; }

    /// <summary>
    /// The lab's name (--name): the prefix of every namespace it makes ("vpclab-node1"), its lock and, unless
    /// --work-dir is given, its work directory. Two labs of different names run side by side.
    /// </summary>
    public string Name { get; init; } = DefaultName;

    public const string DefaultName = "vpclab";

    /// <summary>up: stay in the foreground instead of returning once the lab is ready.</summary>
    public bool Foreground { get; init; }

    /// <summary>The work directory a lab of this name uses when --work-dir is not given.</summary>
    public static string DefaultWorkDirectory(string name) => name == DefaultName ? "/run/vpclab" : $"/run/vpclab.{name}";

    public bool Json { get; init; }

    /// <summary>How long to wait for the warm pool to shrink back after every pod is deleted.</summary>
    public TimeSpan ShrinkTimeout { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>chaos: about how long the whole run takes (build, storm, audit).</summary>
    public double Minutes { get; init; } = 5;

    /// <summary>chaos: seed of every random choice (faults, timings); printed so a run can be repeated.</summary>
    public int? Seed { get; init; }

    /// <summary>chaos: concurrent ADD/DEL workers per node (the runtime's sandboxes in flight).</summary>
    public int ChaosWorkers { get; init; } = 3;

    /// <summary>Each node's checkpoint directory is a small tmpfs (chaos fills it to simulate a full disk).</summary>
    public bool StateOnTmpfs { get; init; }

    /// <summary>The daemons use the emulator's Kubernetes API (nodes registered, each pod created before its ADD).</summary>
    public bool KubernetesApi { get; init; } = true;

    /// <summary>
    /// Custom networking: a second VPC CIDR (<see cref="CustomNetworkCidr"/>) with one pod subnet per zone named by an
    /// ENIConfig per zone (ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone); pods get their addresses there.
    /// </summary>
    public bool CustomNetworking { get; init; }

    /// <summary>Prefix delegation: pods are addressed from /28 prefixes (ENABLE_PREFIX_DELEGATION, WARM_PREFIX_TARGET=1).</summary>
    public bool PrefixDelegation { get; init; }

    /// <summary>
    /// Prefix delegation on a fragmented node subnet: every free /28 of it has one address taken (other tenants), so EC2
    /// refuses prefixes (InsufficientCidrBlocks) and pods get /32s; then the subnet is defragmented and the pool returns
    /// to prefixes.
    /// </summary>
    public bool FragmentedSubnet { get; init; }

    /// <summary>The nodes' pod capacity in the Kubernetes API (the kubelet's max pods); null: the instance type's formula.</summary>
    public int? MaxPods { get; init; }

    /// <summary>
    /// IPv6 cluster (--ipv6): ENABLE_IPv6=true, ENABLE_IPv4=false, ENABLE_PREFIX_DELEGATION=true; the VPC has a
    /// unique-local IPv6 block, pods get /128s from their node's /80 and IPv4 egress through egress-cni (v4if0).
    /// </summary>
    public bool IPv6 { get; init; }

    /// <summary>IPv6 egress for IPv4 pods (--v6-egress): ENABLE_V6_EGRESS=true, egress-cni gives pods v6if0 (SNAT to the node's IPv6).</summary>
    public bool V6Egress { get; init; }

    /// <summary>Whether the lab is dual-stack: the VPC, the nodes' primary ENIs and the hosts get IPv6 too.</summary>
    public bool DualStack => IPv6 || V6Egress;

    /// <summary>Where the simulated VPC's IPv6 block comes from (unique-local: the VPC gets fd00:ec2::/56).</summary>
    public string Ipv6Pool { get; init; } = "fd00:ec2::/32";

    /// <summary>Debian's host-local, the IPAM egress-cni delegates to.</summary>
    public string HostLocalPlugin { get; init; } = "/usr/lib/cni/host-local";

    /// <summary>The VPC's secondary CIDR for custom networking's pod subnets.</summary>
    public string CustomNetworkCidr { get; init; } = "100.64.0.0/16";

    /// <summary>Extra daemon environment (chaos: shorter waits).</summary>
    public IReadOnlyDictionary<string, string> DaemonEnvironment { get; init; } = new Dictionary<string, string>();
}
