using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>How one pool action (grow, release, delete) ended.</summary>
internal enum ActuationStatus
{
    /// <summary>The change was made in the datastore and the cloud.</summary>
    Done,

    /// <summary>Nothing changed: the ENI is busy with another operation, or nothing was left to change.</summary>
    NotDone,

    /// <summary>The datastore changed but the cloud call failed; the next reconcile squares the two.</summary>
    CloudBehind,

    /// <summary>The cloud refused to grow the pool (recorded in <see cref="ErrorBackoff"/>).</summary>
    GrowthFailed,

    /// <summary>The ENI holds more addresses than the datastore knows: reconcile, then fall back to a new ENI.</summary>
    EniFull,
}

/// <summary>The result of one pool action; expected cloud failures are values here, not exceptions.</summary>
/// <param name="Error">The cloud's failure, when a cloud call failed.</param>
/// <param name="Message">The cloud's message for <paramref name="Error"/> (names the subnet, ...).</param>
internal readonly record struct ActuationOutcome(ActuationStatus Status, CloudErrorKind? Error = null, string? Message = null)
{
    public static ActuationOutcome Done { get; } = new(ActuationStatus.Done);

    public static ActuationOutcome NotDone { get; } = new(ActuationStatus.NotDone);

    /// <summary>True when the pool changed, so the round evaluates the policy again.</summary>
    public bool Progressed => Status is ActuationStatus.Done or ActuationStatus.CloudBehind;
}
