namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>Settings of a <see cref="KubernetesApiEmulator"/>.</summary>
public sealed class KubernetesApiEmulatorOptions
{
    /// <summary>Clock of creationTimestamp, watch timeouts and bookmarks (default: the simulated VPC's).</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>How often a watch with <c>allowWatchBookmarks=true</c> gets a BOOKMARK event (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Changes kept for watches to resume from; a watch from an older resourceVersion gets 410 Expired.</summary>
    public int HistoryLimit { get; set; } = 10_000;

    /// <summary>Whether every instance of the VPC is registered as a Node when the emulator is created.</summary>
    public bool RegisterInstancesAsNodes { get; set; } = true;
}
