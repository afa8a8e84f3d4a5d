using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;

namespace VpcCni.Linux;

/// <summary>Source-generated log messages of VpcCni.Linux (EventId 3xxx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Pod {Namespace}/{Pod} wired: {Address} on host veth {HostVeth} (table {Table})")]
    public static partial void PodWired(this ILogger logger, string @namespace, string pod, IPAddress address, string hostVeth, int table);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Pod {Namespace}/{Pod} setup failed at {Step}; rolling back {Count} change(s)")]
    public static partial void PodSetupRollingBack(this ILogger logger, Exception exception, string @namespace, string pod, string step, int count);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Rollback step '{Undo}' failed")]
    public static partial void RollbackStepFailed(this ILogger logger, Exception exception, string undo);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Pod {Namespace}/{Pod} torn down ({Address}, host veth {HostVeth})")]
    public static partial void PodTornDown(this ILogger logger, string @namespace, string pod, IPAddress address, string hostVeth);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "ENI {Mac} ({Link}) set up: {Address}/{Prefix} table {Table}")]
    public static partial void EniConfigured(this ILogger logger, PhysicalAddress mac, string link, IPAddress address, int prefix, int table);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Debug, Message = "ENI with MAC {Mac} not visible yet (attempt {Attempt})")]
    public static partial void EniNotFoundYet(this ILogger logger, PhysicalAddress mac, int attempt);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Primary ENI {Link} set up (MTU {Mtu}, fwmark rule {FwmarkRule})")]
    public static partial void PrimaryEniConfigured(this ILogger logger, string link, int mtu, bool fwmarkRule);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "SNAT/connmark rules reconciled with {Backend}; changed: {Result}")]
    public static partial void SnatReconciled(this ILogger logger, VpcCni.Linux.Snat.ConnmarkBackend backend, bool result);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning, Message = "Deleting host veth #{Index} failed")]
    public static partial void VethReapFailed(this ILogger logger, Exception exception, int index);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Warning, Message = "Link notifications stopped; veth removals now complete when the kernel returns")]
    public static partial void VethReapMonitorStopped(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Warning, Message = "Handing host veth {HostVeth} to the remover failed; deleting it here")]
    public static partial void HostVethRemoverFailed(this ILogger logger, Exception exception, string hostVeth);
}
