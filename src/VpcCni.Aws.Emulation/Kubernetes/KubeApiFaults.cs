namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>The emulated API server's fault switches (shared by the admin paths and <see cref="KubernetesApiEmulator"/>).</summary>
internal sealed class KubeApiFaults
{
    private volatile bool _available = true;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _forbidden = new(StringComparer.Ordinal);

    /// <summary>False: every API request (not the admin paths) gets 503 ServiceUnavailable.</summary>
    public bool Available
    {
        get => _available;
        set => _available = value;
    }

    /// <summary>Requests for a resource (by plural) answered 403 Forbidden, as for a ClusterRole that lacks it.</summary>
    public void SetForbidden(string plural, bool forbidden)
    {
        if (forbidden)
        {
            _forbidden[plural] = true;
        }
        else
        {
            _forbidden.TryRemove(plural, out _);
        }
    }

    public bool IsForbidden(string plural) => _forbidden.ContainsKey(plural);
}
