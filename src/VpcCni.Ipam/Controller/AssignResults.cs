namespace VpcCni.Ipam;

/// <summary>Why an ADD got no address.</summary>
public enum AssignFailureReason
{
    None,

    /// <summary>Every ENI is full and no ENI can be added (MAX_ENI / instance limit / unmanaged ENIs / trunk reserve).</summary>
    NoRoom,

    /// <summary>The pool already holds max-pods addresses.</summary>
    MaxPodsReached,

    /// <summary>The subnet has no free address (InsufficientFreeAddressesInSubnet).</summary>
    SubnetFull,

    /// <summary>The subnet has no free contiguous /28 (InsufficientCidrBlocks).</summary>
    NoFreePrefix,

    /// <summary>EC2 throttled the calls that would have grown the pool.</summary>
    Throttled,

    /// <summary>Another cloud failure stopped the pool from growing.</summary>
    CloudError,

    /// <summary>The pool was still growing when the wait (VPC_CNI_ASSIGN_WAIT) ran out.</summary>
    StillGrowing,

    /// <summary>The allocation could not be made durable; nothing was assigned.</summary>
    RecordFailed,
}

/// <summary>Result of an ADD.</summary>
/// <param name="Reused">True when the key already held this address (idempotent ADD).</param>
/// <param name="Detail">For failures: a sentence naming the cause, for the CNI error message. For an ADD that found no free
/// address at first and got one after waiting: why it waited (a growth failure meanwhile, or the growth itself).</param>
public readonly record struct AssignResult(
    AssignFailureReason Failure,
    PodAddress Address,
    int DeviceNumber,
    int RouteTableId,
    bool Reused,
    string? Detail)
{
    public bool Succeeded => Failure == AssignFailureReason.None;
}

/// <summary>Result of a DEL.</summary>
/// <param name="Known">False when the key held nothing (upstream "datastore: unknown pod"; a DEL succeeds anyway).</param>
public readonly record struct UnassignResult(bool Known, PodAddress Address, int DeviceNumber, int RouteTableId, int InterfacesCount);

/// <summary>Answers, for a recorded allocation, whether there is positive evidence its pod is gone.</summary>
public interface IPodLivenessEvidence
{
    /// <summary>True only when the pod is known to be gone (e.g. the runtime's GC list or its host veth is absent).</summary>
    bool IsPodGone(AllocationRecord allocation);

    /// <summary>
    /// Called after the engine dropped a restored allocation because <see cref="IsPodGone"/> said so: remove what the
    /// pod left on the host (upstream deletes its <c>to &lt;ip&gt; lookup main</c> 512 and <c>from &lt;ip&gt;</c> 1536
    /// rules). Failures are logged by the engine, never fatal.
    /// </summary>
    ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
