using Microsoft.Extensions.Logging;

namespace VpcCni.Hosting.Plugin;

internal static partial class PluginLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "ADD {ContainerId}/{IfName} pod {PodNamespace}/{PodName}: {Address} table {RouteTable} veth {HostVeth}")]
    public static partial void Added(ILogger logger, string containerId, string ifName, string podNamespace, string podName, System.Net.IPAddress address, int routeTable, string hostVeth);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "ADD {ContainerId}/{IfName}: wiring failed, releasing {Address}")]
    public static partial void AddRollback(ILogger logger, Exception exception, string containerId, string ifName, string address);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "DEL {ContainerId}/{IfName}: released {Count} address(es)")]
    public static partial void Deleted(ILogger logger, string containerId, string ifName, int count);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "DEL {ContainerId}/{IfName}: ipamd unreachable, tearing down from prevResult only")]
    public static partial void DeleteWithoutDaemon(ILogger logger, Exception exception, string containerId, string ifName);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "rollback of {ContainerId}/{IfName} could not release the address")]
    public static partial void RollbackReleaseFailed(ILogger logger, Exception exception, string containerId, string ifName);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information, Message = "GC of network {Network}: released {Count} stale attachment(s)")]
    public static partial void GarbageCollected(ILogger logger, string network, int count);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "teardown of {Address} for pod {PodNamespace}/{PodName} failed")]
    public static partial void TeardownFailed(ILogger logger, Exception exception, string address, string podNamespace, string podName);
}

/// <summary>
/// The plugin's log: a file (pluginLogFile) or stderr, never stdout. Plain lines, appended and flushed per entry,
/// because the process lives for one CNI call.
/// </summary>
internal sealed class PluginLogger(TextWriter writer, LogLevel minimum, TimeProvider time) : ILogger, IDisposable
{
    private readonly Lock _lock = new();

    public static PluginLogger Create(string? logFile, string? level, TimeProvider time)
    {
        // The installer refuses unknown names; one edited into the conflist by hand falls back to Information.
        var minimum = Configuration.UpstreamLogLevel.TryParse(level, out var parsed) ? parsed : LogLevel.Information;
        TextWriter writer;
        try
        {
            if (string.IsNullOrEmpty(logFile))
            {
                writer = Console.Error;
            }
            else
            {
                var directory = Path.GetDirectoryName(logFile);
                if (!string.IsNullOrEmpty(directory))
                {
                    Directory.CreateDirectory(directory);
                }

                writer = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A broken log path must not break pod networking.
            writer = Console.Error;
        }

        return new PluginLogger(writer, minimum, time);
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = $"{time.GetUtcNow():O} {logLevel} [{Environment.ProcessId}] {formatter(state, exception)}{(exception is null ? "" : " | " + exception.Message)}";
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    public void Dispose()
    {
        if (!ReferenceEquals(writer, Console.Error))
        {
            writer.Dispose();
        }
    }
}
