using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// Which of the instance's ENIs are the pool's (upstream §2.13), and tagging each once when the pool takes it over.
/// </summary>
internal sealed class EniOwnership(IEniProvider cloud, string? instanceId, bool manageUntagged, ILogger logger)
{
    private const string NoManageTag = "node.k8s.amazonaws.com/no_manage";
    private const string InstanceIdTag = "node.k8s.amazonaws.com/instance_id";

    // ENIs whose tags were already ensured or that we created, and the last managed decision per ENI (kept when a
    // view carries no tags at all).
    private readonly Lock _gate = new();
    private readonly HashSet<string> _tagsEnsured = new(StringComparer.Ordinal);
    private readonly HashSet<string> _createdHere = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _managedDecisions = new(StringComparer.Ordinal);

    /// <summary>
    /// A no_manage tag decides (unmanaged iff exactly "true"), else our instance-id tag makes it ours, else
    /// MANAGE_UNTAGGED_ENI; the primary ENI is always managed. ENIs created here stay ours even if a provider does not
    /// tag them. A view without any tags (a failed tag lookup) changes no earlier decision.
    /// </summary>
    public bool IsManaged(NetworkInterface eni, bool viewHasTags)
    {
        if (eni.IsPrimary)
        {
            return true;
        }

        lock (_gate)
        {
            if (!viewHasTags && _managedDecisions.TryGetValue(eni.Id, out var previous))
            {
                return previous;
            }

            bool managed;
            if (eni.Tags.TryGetValue(NoManageTag, out var noManage))
            {
                managed = noManage != "true";
            }
            else if (eni.Tags.TryGetValue(InstanceIdTag, out var owner) && owner == instanceId)
            {
                managed = true;
            }
            else
            {
                managed = _createdHere.Contains(eni.Id) || manageUntagged;
            }

            _managedDecisions[eni.Id] = managed;
            return managed;
        }
    }

    /// <summary>Upstream TagENI at init and reconcile: once per managed, non-trunk ENI the pool takes over; never fatal.</summary>
    public async ValueTask EnsureTagsOnceAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        if (eni.Kind == EniKind.Trunk)
        {
            return;
        }

        lock (_gate)
        {
            if (!_tagsEnsured.Add(eni.Id))
            {
                return;
            }
        }

        try
        {
            await cloud.EnsureEniTagsAsync(eni, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EniTaggingFailed(logger, eni.Id, ex.Message);
        }
    }

    /// <summary>The pool created this ENI with the provider's tags: ours, and nothing to tag.</summary>
    public void NoteCreatedHere(string eniId)
    {
        lock (_gate)
        {
            _createdHere.Add(eniId);
            _tagsEnsured.Add(eniId);
        }
    }

    /// <summary>The ENI is gone: forget every decision about it.</summary>
    public void Forget(string eniId)
    {
        lock (_gate)
        {
            _tagsEnsured.Remove(eniId);
            _managedDecisions.Remove(eniId);
            _createdHere.Remove(eniId);
        }
    }
}
