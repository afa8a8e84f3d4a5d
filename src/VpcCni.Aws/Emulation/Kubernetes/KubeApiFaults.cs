namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>The emulated API server's fault switches (shared by the admin paths and <see cref="KubernetesApiEmulator"/>).</summary>
internal sealed class KubeApiFaults
{
    private volatile bool _available = true;

    /// <summary>False: every API request (not the admin paths) gets 503 ServiceUnavailable.</summary>
    public bool Available
    {
        get => _available;
        set => _available = value;
    }
}
