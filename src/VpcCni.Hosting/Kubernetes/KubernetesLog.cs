using Microsoft.Extensions.Logging;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>The Kubernetes client's log lines (event ids 41xx).</summary>
internal static partial class KubernetesLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Kubernetes API unavailable at start ({What}): {Reason}; ADDs are served from the pool without it, retrying in {Seconds} s")]
    internal static partial void LogDownAtStart(ILogger logger, string what, string reason, double seconds);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Kubernetes API unavailable ({What}): {Reason}; ADDs keep being served from the pool, the last known state is kept, retrying in {Seconds} s")]
    internal static partial void LogDown(ILogger logger, string what, string reason, double seconds);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "Kubernetes API still unavailable ({What}): {Reason}; retrying in {Seconds} s")]
    internal static partial void LogStillDown(ILogger logger, string what, string reason, double seconds);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Kubernetes API reachable again ({What}): relisted")]
    internal static partial void LogBack(ILogger logger, string what);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "watch of {What} answered 410 Gone (resource version too old): relisting")]
    internal static partial void LogGone(ILogger logger, string what);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Debug, Message = "watch of {What} closed by the server; resuming from resource version {ResourceVersion}")]
    internal static partial void LogWatchClosed(ILogger logger, string what, string? resourceVersion);
}
