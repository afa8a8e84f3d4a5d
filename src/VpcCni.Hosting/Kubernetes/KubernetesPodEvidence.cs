using VpcCni.Ipam;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// Restore evidence from the API: with a synced list of this node's pods, a recorded allocation whose pod is not in it
/// is gone (the engine drops it, its address cooling down first) and one whose pod is listed is never dropped, whatever
/// the host says. Without a synced list (no API, or the API was down at start) the host's evidence decides, as
/// before: the conservative rule.
/// </summary>
internal sealed class KubernetesPodEvidence(Informer<PodInfo> pods, IPodLivenessEvidence? fallback) : IPodLivenessEvidence
{
    public bool IsPodGone(AllocationRecord allocation)
    {
        ArgumentNullException.ThrowIfNull(allocation);
        if (string.IsNullOrEmpty(allocation.Metadata.Namespace) || string.IsNullOrEmpty(allocation.Metadata.Name) || !pods.HasSynced)
        {
            return fallback?.IsPodGone(allocation) ?? false;
        }

        return !pods.TryGet(allocation.Metadata.Namespace + "/" + allocation.Metadata.Name, out _);
    }

    public ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken) =>
        fallback?.OnGonePodDroppedAsync(allocation, cancellationToken) ?? ValueTask.CompletedTask;
}
