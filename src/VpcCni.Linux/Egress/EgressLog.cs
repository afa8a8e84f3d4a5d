using System.Net;
using Microsoft.Extensions.Logging;

namespace VpcCni.Linux.Egress;

/// <summary>Source-generated log messages of the egress datapath (EventId 36xx).</summary>
internal static partial class EgressLog
{
    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "Egress for container {ContainerId}: {Address} on {Interface}, host end {HostVeth}, nat chain {Chain}")]
    public static partial void EgressWired(this ILogger logger, string containerId, string @interface, IPAddress address, string hostVeth, string chain);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Warning, Message = "Egress setup for container {ContainerId} failed at '{Step}'; rolling back {Count} change(s)")]
    public static partial void EgressSetupRollingBack(this ILogger logger, Exception exception, string containerId, string step, int count);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "Egress rollback step '{Undo}' failed")]
    public static partial void EgressRollbackStepFailed(this ILogger logger, Exception exception, string undo);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Information, Message = "Egress for container {ContainerId} ({Interface}) torn down; anything removed: {Removed}")]
    public static partial void EgressTornDown(this ILogger logger, string containerId, string @interface, bool removed);
}
