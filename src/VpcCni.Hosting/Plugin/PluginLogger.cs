namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The plugin's log: a file (pluginLogFile) or stderr, never stdout. Plain lines
/// ("{time:O} {level} [{pid}] {message} | {exception message}"), appended and flushed per entry, because the process
/// lives for one CNI call. Not Microsoft.Extensions.Logging: the plugin needs none of its machinery, and linking it
/// costs the Native AOT binary start-up time (docs/benchmarks.md).
/// </summary>
internal sealed class PluginLogger(TextWriter writer, PluginLogLevel minimum, TimeProvider time) : IDisposable
{
    private readonly Lock _lock = new();

    /// <summary>A logger that writes nothing.</summary>
    public static PluginLogger None { get; } = new(TextWriter.Null, PluginLogLevel.None, TimeProvider.System);

    public static PluginLogger Create(string? logFile, string? level, TimeProvider time)
    {
        // The installer refuses unknown names; one edited into the conflist by hand falls back to Information.
        var minimum = TryParseLevel(level, out var parsed) ? parsed : PluginLogLevel.Information;
        TextWriter writer;
        try
        {
            if (string.IsNullOrEmpty(logFile))
            {
                writer = StandardErrorWriter.Instance;
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
            writer = StandardErrorWriter.Instance;
        }

        return new PluginLogger(writer, minimum, time);
    }

    /// <summary>Upstream's names for AWS_VPC_K8S_PLUGIN_LOG_LEVEL, as <see cref="Configuration.UpstreamLogLevel"/> reads them for the daemon.</summary>
    public static bool TryParseLevel(string? value, out PluginLogLevel level)
    {
        PluginLogLevel? parsed = value?.Trim().ToUpperInvariant() switch
        {
            "TRACE" => PluginLogLevel.Trace,
            "DEBUG" => PluginLogLevel.Debug,
            "INFO" or "INFORMATION" => PluginLogLevel.Information,
            "WARN" or "WARNING" => PluginLogLevel.Warning,
            "ERROR" => PluginLogLevel.Error,
            "FATAL" or "CRITICAL" => PluginLogLevel.Critical,
            "NONE" => PluginLogLevel.None,
            _ => null,
        };
        level = parsed ?? default;
        return parsed is not null;
    }

    public bool IsEnabled(PluginLogLevel level) => level >= minimum && level != PluginLogLevel.None;

    /// <summary>Writes one line; callers check <see cref="IsEnabled"/> before formatting the message.</summary>
    public void Write(PluginLogLevel level, string message, Exception? exception)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        var line = $"{time.GetUtcNow():O} {NameOf(level)} [{Environment.ProcessId}] {message}{(exception is null ? "" : " | " + exception.Message)}";
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    public void Dispose()
    {
        if (!ReferenceEquals(writer, StandardErrorWriter.Instance) && !ReferenceEquals(writer, TextWriter.Null))
        {
            writer.Dispose();
        }
    }

    private static string NameOf(PluginLogLevel level) => level switch
    {
        PluginLogLevel.Trace => "Trace",
        PluginLogLevel.Debug => "Debug",
        PluginLogLevel.Information => "Information",
        PluginLogLevel.Warning => "Warning",
        PluginLogLevel.Error => "Error",
        PluginLogLevel.Critical => "Critical",
        _ => "None",
    };
}
