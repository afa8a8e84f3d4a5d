using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// What the last failed growth said: the policy backs off growth after the subnet ran out (the snapshot's
/// <see cref="PoolSnapshot.LastInsufficientCapacity"/>), and waiting ADDs fail at once with the reason instead of
/// waiting out their timeout.
/// </summary>
internal sealed class ErrorBackoff(TimeProvider time)
{
    private readonly Lock _gate = new();
    private CloudErrorKind? _lastError;
    private string? _lastErrorMessage;
    private (CloudErrorKind Kind, string? Message) _lastFailure;
    private DateTimeOffset _lastErrorAt = DateTimeOffset.MinValue;
    private DateTimeOffset? _lastInsufficientCapacity;

    /// <summary>The kind of the last growth failure; null once a growth succeeded since.</summary>
    public CloudErrorKind? LastError
    {
        get
        {
            lock (_gate)
            {
                return _lastError;
            }
        }
    }

    /// <summary>When the subnet last had no free address or /28 block, or a new ENI's configuration was refused.</summary>
    public DateTimeOffset? LastInsufficientCapacity
    {
        get
        {
            lock (_gate)
            {
                return _lastInsufficientCapacity;
            }
        }
    }

    /// <summary>True when a growth failed at or after <paramref name="since"/>.</summary>
    public bool FailedSince(DateTimeOffset since)
    {
        lock (_gate)
        {
            return _lastErrorAt >= since;
        }
    }

    /// <param name="kind">What failed.</param>
    /// <param name="message">The provider's message (names the subnet, ENIConfig, ...), kept for waiting ADDs' errors.</param>
    public void NoteFailure(CloudErrorKind kind, string? message = null)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _lastError = kind;
            _lastErrorMessage = message;
            _lastFailure = (kind, message);
            _lastErrorAt = now;
            // A configuration error (e.g. an ENIConfig naming a missing subnet) waits out the same backoff: retrying every
            // pool interval would only repeat the refused calls until someone fixes the configuration.
            if (kind is CloudErrorKind.SubnetFull or CloudErrorKind.NoFreePrefix or CloudErrorKind.InvalidConfiguration)
            {
                _lastInsufficientCapacity = now;
            }
        }
    }

    /// <summary>The last growth failure at or after <paramref name="since"/>, even if a growth succeeded after it.</summary>
    public (CloudErrorKind Kind, string? Message)? FailureSince(DateTimeOffset since)
    {
        lock (_gate)
        {
            return _lastErrorAt >= since ? _lastFailure : null;
        }
    }

    /// <summary>
    /// What the pool grows with changed (e.g. the node's ENIConfig): the growth back-off of the old configuration ends
    /// and waiting ADDs no longer blame its failure.
    /// </summary>
    public void Reset()
    {
        lock (_gate)
        {
            _lastInsufficientCapacity = null;
            _lastError = null;
        }
    }

    /// <summary>A growth succeeded: ADDs that still find no address no longer blame the last failure.</summary>
    public void NoteSuccess()
    {
        lock (_gate)
        {
            _lastError = null;
        }
    }

    /// <summary>Why an ADD that waited <paramref name="waited"/> got no address, when the policy did not block growth.</summary>
    public (AssignFailureReason Reason, string Detail) ExplainNoAddress(TimeSpan waited)
    {
        CloudErrorKind? kind;
        string? message;
        lock (_gate)
        {
            (kind, message) = (_lastError, _lastErrorMessage);
        }

        return Explain(kind, message, waited);
    }

    private static (AssignFailureReason Reason, string Detail) Explain(CloudErrorKind? kind, string? message, TimeSpan waited) => kind switch
    {
        CloudErrorKind.SubnetFull => (AssignFailureReason.SubnetFull, "no free address: the subnet has no free addresses (InsufficientFreeAddressesInSubnet)"),
        CloudErrorKind.NoFreePrefix => (AssignFailureReason.NoFreePrefix, "no free address: the subnet has no free /28 block (InsufficientCidrBlocks)"),
        CloudErrorKind.Throttled => (AssignFailureReason.Throttled, "no free address: EC2 throttled the pool's requests (RequestLimitExceeded)"),
        CloudErrorKind.InvalidConfiguration => (AssignFailureReason.CloudError,
            $"no free address: a new ENI cannot be created as configured (InvalidConfiguration): {message ?? "a subnet or security group that does not exist, or a subnet in another zone or VPC; see the ipamd log"}"),
        { } other => (AssignFailureReason.CloudError, message is null ? $"no free address: growing the pool failed ({other})" : $"no free address: growing the pool failed ({other}): {message}"),
        null => (AssignFailureReason.StillGrowing, $"no free address yet: the pool is still growing after {waited.TotalSeconds:0.#} s"),
    };
}
