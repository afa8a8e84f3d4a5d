using Microsoft.Extensions.Logging;

namespace VpcCni.Aws;

/// <summary>Source-generated log messages of VpcCni.Aws (EventIds 2000–2999).</summary>
internal static partial class AwsLog
{
    [LoggerMessage(2001, LogLevel.Debug, "IMDS token refreshed (ttl {TtlSeconds} s)")]
    public static partial void ImdsTokenRefreshed(ILogger logger, int ttlSeconds);

    [LoggerMessage(2002, LogLevel.Warning, "IMDS {Path} failed (attempt {Attempt}): {Reason}")]
    public static partial void ImdsRetry(ILogger logger, string path, int attempt, string reason);

    [LoggerMessage(2010, LogLevel.Warning, "EC2 {Action} failed with {Code}; retry {Attempt} in {DelayMs} ms")]
    public static partial void Ec2Retry(ILogger logger, string action, string code, int attempt, double delayMs);

    [LoggerMessage(2011, LogLevel.Information, "Created ENI {EniId} in {SubnetId} and attached it at device index {DeviceIndex}")]
    public static partial void EniCreated(ILogger logger, string eniId, string subnetId, int deviceIndex);

    [LoggerMessage(2012, LogLevel.Information, "Deleted ENI {EniId}")]
    public static partial void EniDeleted(ILogger logger, string eniId);

    [LoggerMessage(2013, LogLevel.Warning, "Could not create an ENI in subnet {SubnetId}: {Code}; trying the next subnet")]
    public static partial void SubnetSkipped(ILogger logger, string subnetId, string code);

    [LoggerMessage(2014, LogLevel.Warning, "Cleaning up ENI {EniId} after a failed attach: {Reason}")]
    public static partial void AttachCleanup(ILogger logger, string eniId, string reason);

    [LoggerMessage(2017, LogLevel.Warning, "ENI {EniId} is already attached here at device index {DeviceIndex} (a lost reply, then {Code}); using that attachment")]
    public static partial void AttachAdopted(ILogger logger, string eniId, int deviceIndex, string code);

    [LoggerMessage(2018, LogLevel.Information, "Tagged ENI {EniId} with {Count} missing tag(s)")]
    public static partial void EniTagged(ILogger logger, string eniId, int count);

    [LoggerMessage(2019, LogLevel.Warning, "DescribeSubnets for subnet exclusion failed ({Reason}); keeping the last known subnet tags")]
    public static partial void SubnetTagsUnavailable(ILogger logger, string reason);

    [LoggerMessage(2022, LogLevel.Warning, "Leaked-ENI sweep failed: {Reason}")]
    public static partial void SweepFailed(ILogger logger, string reason);

    [LoggerMessage(2016, LogLevel.Warning, "Could not clean up ENI {EniId} after a failed attach ({Reason}); the leaked-ENI sweep will remove it")]
    public static partial void AttachCleanupFailed(ILogger logger, string eniId, string reason);

    [LoggerMessage(2015, LogLevel.Error, "EC2 refused {Action} for lack of IAM permission ({Code}): {Message}")]
    public static partial void Unauthorized(ILogger logger, string action, string code, string message);

    [LoggerMessage(2020, LogLevel.Information, "Leaked-ENI sweep: deleted {Deleted}, tagged {Tagged}, skipped {Skipped}")]
    public static partial void SweepDone(ILogger logger, int deleted, int tagged, int skipped);

    [LoggerMessage(2021, LogLevel.Warning, "Leaked-ENI sweep could not delete {EniId}: {Reason}")]
    public static partial void SweepDeleteFailed(ILogger logger, string eniId, string reason);

    [LoggerMessage(2023, LogLevel.Error, "Cannot create an ENI as configured: {Reason}")]
    public static partial void InvalidEniConfiguration(ILogger logger, string reason);

    [LoggerMessage(2024, LogLevel.Debug, "Requested subnets for a new ENI, from the most free addresses: {Subnets}")]
    public static partial void RequestedSubnetsOrdered(ILogger logger, string subnets);

    [LoggerMessage(2030, LogLevel.Information, "Instance type {InstanceType} is not in the embedded table; asked DescribeInstanceTypes")]
    public static partial void InstanceTypeDescribed(ILogger logger, string instanceType);

    [LoggerMessage(2031, LogLevel.Warning, "Subnet {SubnetId} has no free /28 block (InsufficientCidrBlocks); it is tried last for prefixes for {Minutes} minutes")]
    public static partial void SubnetFragmented(ILogger logger, string subnetId, double minutes);
}
