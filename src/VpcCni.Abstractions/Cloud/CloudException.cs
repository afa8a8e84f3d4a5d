namespace VpcCni.Cloud;

/// <summary>The cloud failures the engine reacts to differently.</summary>
public enum CloudErrorKind
{
    /// <summary>Anything not listed below.</summary>
    Other,

    /// <summary>EC2 InsufficientFreeAddressesInSubnet: the subnet has no free address.</summary>
    SubnetFull,

    /// <summary>EC2 InsufficientCidrBlocks: no contiguous free /28 in the subnet.</summary>
    NoFreePrefix,

    /// <summary>EC2 PrivateIpAddressLimitExceeded: the ENI is full (our view is out of date).</summary>
    EniAddressLimitExceeded,

    /// <summary>No free device index or the instance's ENI limit is reached.</summary>
    AttachmentLimitExceeded,

    /// <summary>EC2 RequestLimitExceeded or the client-side budget is exhausted.</summary>
    Throttled,

    /// <summary>EC2 UnauthorizedOperation: missing IAM permission.</summary>
    Unauthorized,

    /// <summary>The ENI (or other resource) does not exist.</summary>
    NotFound,

    /// <summary>A transient server-side failure (5xx, timeout).</summary>
    Transient,

    /// <summary>The request names a subnet that does not exist or lies in another availability zone or VPC than the
    /// instance, or a security group that does not exist (e.g. a wrong ENIConfig). Retrying cannot help until the
    /// configuration is fixed.</summary>
    InvalidConfiguration,
}

/// <summary>A cloud call failed in a way the engine can classify.</summary>
public class CloudException : Exception
{
    public CloudException(CloudErrorKind kind, string message, string? errorCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        ErrorCode = errorCode;
    }

    public CloudErrorKind Kind { get; }

    /// <summary>The provider's own error code (e.g. EC2's), when there was one.</summary>
    public string? ErrorCode { get; }

    /// <summary>True when retrying later may succeed.</summary>
    public bool IsRetryable => Kind is CloudErrorKind.Throttled or CloudErrorKind.Transient;
}
