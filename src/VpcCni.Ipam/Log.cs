using Microsoft.Extensions.Logging;

namespace VpcCni.Ipam;

/// <summary>Source-generated log messages of the IPAM engine (EventId 1000–1999).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "IPAM card {Card}: {Enis} ENIs, pool {Stats}; max ENIs {MaxEnis}, max pods {MaxPods}, prefix delegation {PrefixDelegation}")]
    public static partial void Initialized(ILogger logger, int card, int enis, PoolStats stats, int maxEnis, int maxPods, bool prefixDelegation);

    [LoggerMessage(1001, LogLevel.Warning, "Durable allocation record: {Problem}")]
    public static partial void RecordProblem(ILogger logger, string problem);

    [LoggerMessage(1002, LogLevel.Warning, "Restored allocation {Key} ({Address}) is not on any ENI the cloud lists; kept (pod presumed live), never handed out")]
    public static partial void UnplacedAllocation(ILogger logger, AttachmentKey key, PodAddress address);

    [LoggerMessage(1003, LogLevel.Information, "Restored allocation {Key} ({Address}) dropped: its pod is positively gone")]
    public static partial void DroppedGonePod(ILogger logger, AttachmentKey key, PodAddress address);

    [LoggerMessage(1004, LogLevel.Error, "Restored allocation {Key} ({Address}) conflicts with another key holding the address; not restored")]
    public static partial void RestoreConflict(ILogger logger, AttachmentKey key, PodAddress address);

    [LoggerMessage(1010, LogLevel.Information, "Pool grew: {Units} {Unit} on {EniId}")]
    public static partial void Grew(ILogger logger, int units, AddressUnitName unit, string eniId);

    [LoggerMessage(1011, LogLevel.Information, "Pool shrank: released {Count} CIDRs from {EniId}")]
    public static partial void Released(ILogger logger, int count, string eniId);

    [LoggerMessage(1012, LogLevel.Information, "Deleted ENI {EniId}")]
    public static partial void DeletedEni(ILogger logger, string eniId);

    [LoggerMessage(1013, LogLevel.Warning, "Cloud call {Operation} failed ({Kind}): {Message}")]
    public static partial void CloudFailure(ILogger logger, string operation, Cloud.CloudErrorKind kind, string message);

    [LoggerMessage(1014, LogLevel.Warning, "Reconcile: ENI {EniId} is no longer attached; {Pods} allocations kept as unplaced")]
    public static partial void EniVanished(ILogger logger, string eniId, int pods);

    [LoggerMessage(1015, LogLevel.Error, "Pool loop iteration failed")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(1016, LogLevel.Warning, "ENABLE_PREFIX_DELEGATION is set but instance type {InstanceType} supports neither Nitro nor bare metal; using secondary IPs (upstream behaviour)")]
    public static partial void PrefixDelegationUnsupported(ILogger logger, string instanceType);

    [LoggerMessage(1017, LogLevel.Critical, "The durable allocation record is incomplete; addresses may be handed out that a pod from before the damage still uses")]
    public static partial void RecordIncomplete(ILogger logger);

    [LoggerMessage(1018, LogLevel.Warning, "Host networking for ENI {EniId} failed; its addresses stay out of the pool until the next reconcile: {Reason}")]
    public static partial void EniHookFailed(ILogger logger, string eniId, string reason);

    [LoggerMessage(1019, LogLevel.Warning, "Reconcile card {Card} aborted: the cloud listed {Count} ENIs for this instance and not the primary ENI; an incomplete view is never applied, the datastore is kept as it is")]
    public static partial void ReconcileAborted(ILogger logger, int card, int count);

    [LoggerMessage(1020, LogLevel.Warning, "Reconcile: ENI {EniId} is missing from the cloud's view (or became unmanaged); its addresses are no longer handed out, and it is removed if still missing at the next reconcile")]
    public static partial void EniMissingOnce(ILogger logger, string eniId);

    [LoggerMessage(1021, LogLevel.Warning, "Tagging ENI {EniId} failed (not fatal): {Reason}")]
    public static partial void EniTaggingFailed(ILogger logger, string eniId, string reason);

    [LoggerMessage(1022, LogLevel.Information, "ENI {EniId} is excluded from pod addresses; released {Count} unassigned CIDRs to the cloud")]
    public static partial void ExcludedCidrsReleased(ILogger logger, string eniId, int count);

    [LoggerMessage(1023, LogLevel.Warning, "Cleaning up the host state of dropped allocation {Key} ({Address}) failed: {Reason}")]
    public static partial void GonePodCleanupFailed(ILogger logger, AttachmentKey key, PodAddress address, string reason);

    [LoggerMessage(1024, LogLevel.Warning, "Prefix delegation: ENI {EniId} in subnet {SubnetId} can get no /28 prefix ({Reason}); it grows with secondary /32 addresses until a prefix is free again (tried once per capacity backoff interval)")]
    public static partial void PrefixFallbackEntered(ILogger logger, string eniId, string subnetId, string reason);

    [LoggerMessage(1025, LogLevel.Information, "Prefix delegation: ENI {EniId} got a /28 prefix again and is back on prefixes; released {Released} free /32 addresses (those still in use go back when their pods leave)")]
    public static partial void PrefixFallbackReturned(ILogger logger, string eniId, int released);

    [LoggerMessage(1026, LogLevel.Debug, "Prefix delegation: ENI {EniId} still gets no /28 prefix; growing with /32 addresses")]
    public static partial void PrefixFallbackProbeFailed(ILogger logger, string eniId);

    [LoggerMessage(1027, LogLevel.Information, "Growth on ENI {EniId} failed ({Kind}); subnet discovery is on, so trying {Next}")]
    public static partial void GrowthFallThrough(ILogger logger, string eniId, Cloud.CloudErrorKind kind, string next);

    [LoggerMessage(1040, LogLevel.Information, "IPv6 mode: ENI {EniId} serves pods from {Prefix}; {Restored} allocation(s) restored, {Dropped} dropped")]
    public static partial void IPv6Initialized(ILogger logger, string eniId, string prefix, int restored, int dropped);

    [LoggerMessage(1041, LogLevel.Warning, "IPv6 mode: {Problem}")]
    public static partial void IPv6RestoreProblem(ILogger logger, string problem);
}

/// <summary>Names for log output.</summary>
internal enum AddressUnitName
{
    Addresses,
    Prefixes,
    NewEniAddresses,
    NewEniPrefixes,
    FallbackAddresses,
    NewEniFallbackAddresses,
}
