namespace VpcCni.Lab;

/// <summary>What the lab builds and where it finds its binaries.</summary>
internal sealed record LabOptions
{
    public int Nodes { get; init; } = 2;

    /// <summary>Enough to need a second ENI on the default node type (t3.small: 3 pod addresses per ENI).</summary>
    public int PodsPerNode { get; init; } = 4;

    public string InstanceType { get; init; } = "t3.small";

    /// <summary>Where vpc-cni, vpc-cni-ipamd and cnidriver are.</summary>
    public string BinDirectory { get; init; } = "";

    /// <summary>The libcni driver (tools/cnidriver, built into artifacts/tools/cnidriver).</summary>
    public string CniDriver { get; init; } = "";

    /// <summary>Debian's portmap, chained after our plugin.</summary>
    public string PortmapPlugin { get; init; } = "/usr/lib/cni/portmap";

    /// <summary>Node-private directories (sockets, checkpoints, CNI bin/conf, logs).</summary>
    public string WorkDirectory { get; init; } = "/run/vpclab";

    public bool Keep { get; init; }

    public bool Json { get; init; }

    /// <summary>How long to wait for the warm pool to shrink back after every pod is deleted.</summary>
    public TimeSpan ShrinkTimeout { get; init; } = TimeSpan.FromMinutes(4);
}
