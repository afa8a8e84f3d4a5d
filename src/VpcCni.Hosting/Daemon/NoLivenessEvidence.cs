using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>No evidence that any restored pod is gone (a node without host networking keeps every allocation).</summary>
internal sealed class NoLivenessEvidence : IPodLivenessEvidence
{
    public static NoLivenessEvidence Instance { get; } = new();

    public bool IsPodGone(AllocationRecord allocation) => false;
}
