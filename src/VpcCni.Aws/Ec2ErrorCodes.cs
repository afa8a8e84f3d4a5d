using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>The EC2 error codes this project produces (simulation) or acts on (provider).</summary>
internal static class Ec2ErrorCodes
{
    public const string InsufficientFreeAddressesInSubnet = "InsufficientFreeAddressesInSubnet";
    public const string InsufficientCidrBlocks = "InsufficientCidrBlocks";
    public const string PrivateIpAddressLimitExceeded = "PrivateIpAddressLimitExceeded";
    public const string AttachmentLimitExceeded = "AttachmentLimitExceeded";
    public const string RequestLimitExceeded = "RequestLimitExceeded";
    public const string UnauthorizedOperation = "UnauthorizedOperation";
    public const string NetworkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound";
    public const string AttachmentNotFound = "InvalidAttachmentID.NotFound";
    public const string InstanceNotFound = "InvalidInstanceID.NotFound";
    public const string SubnetNotFound = "InvalidSubnetID.NotFound";
    public const string SecurityGroupNotFound = "InvalidGroup.NotFound";
    public const string SecurityGroupIdNotFound = "InvalidSecurityGroupID.NotFound";
    public const string SubnetIdMalformed = "InvalidSubnetID.Malformed";
    public const string GroupIdMalformed = "InvalidGroupId.Malformed";
    public const string VpcNotFound = "InvalidVpcID.NotFound";
    public const string NetworkInterfaceInUse = "InvalidNetworkInterface.InUse";
    public const string InvalidParameterValue = "InvalidParameterValue";
    public const string InvalidParameterCombination = "InvalidParameterCombination";
    public const string IdempotentParameterMismatch = "IdempotentParameterMismatch";
    public const string MissingParameter = "MissingParameter";
    public const string InvalidAction = "InvalidAction";
    public const string InvalidNextToken = "InvalidNextToken";
    public const string InvalidInstanceType = "InvalidInstanceType";
    public const string OperationNotPermitted = "OperationNotPermitted";
    public const string IncorrectState = "IncorrectState";
    public const string InternalError = "InternalError";
    public const string ServiceUnavailable = "Unavailable";
    public const string RequestTooLarge = "RequestEntityTooLarge";

    /// <summary>How the engine should react to an EC2 error code.</summary>
    public static CloudErrorKind Classify(string? code, int httpStatus = 400) => code switch
    {
        InsufficientFreeAddressesInSubnet => CloudErrorKind.SubnetFull,
        InsufficientCidrBlocks => CloudErrorKind.NoFreePrefix,
        PrivateIpAddressLimitExceeded => CloudErrorKind.EniAddressLimitExceeded,
        AttachmentLimitExceeded => CloudErrorKind.AttachmentLimitExceeded,
        RequestLimitExceeded or "Throttling" or "ThrottlingException" => CloudErrorKind.Throttled,
        UnauthorizedOperation or "AuthFailure" or "Blocked" => CloudErrorKind.Unauthorized,
        NetworkInterfaceNotFound or AttachmentNotFound or InstanceNotFound or SubnetNotFound
            or SecurityGroupNotFound or SecurityGroupIdNotFound or VpcNotFound => CloudErrorKind.NotFound,
        InternalError or "InternalFailure" or ServiceUnavailable or "ServiceUnavailable" => CloudErrorKind.Transient,
        _ when httpStatus >= 500 => CloudErrorKind.Transient,
        _ => CloudErrorKind.Other,
    };

    /// <summary>The HTTP status EC2 answers a code with.</summary>
    public static int HttpStatusFor(string code) => code switch
    {
        RequestLimitExceeded => 503,
        ServiceUnavailable => 503,
        InternalError => 500,
        UnauthorizedOperation => 403,
        RequestTooLarge => 413,
        _ => 400,
    };
}
