using Microsoft.Extensions.Logging;
using VpcCni.Configuration;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The daemon's log file (AWS_VPC_K8S_CNI_LOG_FILE set to a path): one plain line per entry, flushed at once so a crash
/// loses nothing. Like upstream it rotates at 100 MB keeping 5 backups (<c>ipamd.log.1</c> … <c>.5</c>); upstream's
/// gzip and 30-day pruning are not done.
/// </summary>
public sealed class FileLoggerProvider : ILoggerProvider
{
    private const long DefaultMaxBytes = 100L * 1024 * 1024;
    private const int Backups = 5;
    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private StreamWriter _writer;

    private FileLoggerProvider(string path, long maxBytes, TimeProvider time)
    {
        _path = path;
        _maxBytes = maxBytes;
        _time = time;
        _writer = OpenWriter(path);
    }

    /// <summary>Opens (appends to) the file, creating its directory; a path that cannot be written throws naming the variable.</summary>
    public static FileLoggerProvider Open(string path, TimeProvider time) => Open(path, DefaultMaxBytes, time);

    internal static FileLoggerProvider Open(string path, long maxBytes, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        try
        {
            return new FileLoggerProvider(path, maxBytes, time);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new InvalidSettingException("AWS_VPC_K8S_CNI_LOG_FILE", path, "cannot be written: " + ex.Message);
        }
    }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private static StreamWriter OpenWriter(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        return new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = $"{_time.GetUtcNow():O} {level} {category}: {message}{(exception is null ? "" : Environment.NewLine + exception)}";
        lock (_lock)
        {
            _writer.WriteLine(line);
            _writer.Flush();
            if (_writer.BaseStream.Length >= _maxBytes)
            {
                Rotate();
            }
        }
    }

    /// <summary>ipamd.log → .1 → … → .5 (the oldest dropped); a failed rotation keeps writing to the current file.</summary>
    private void Rotate()
    {
        try
        {
            _writer.Dispose();
            for (var i = Backups - 1; i >= 1; i--)
            {
                var from = $"{_path}.{i}";
                if (File.Exists(from))
                {
                    File.Move(from, $"{_path}.{i + 1}", overwrite: true);
                }
            }

            File.Move(_path, _path + ".1", overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Logging must not stop the daemon; the next open appends to whatever is there.
        }

        _writer = OpenWriter(_path);
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // The minimum level is the logging builder's filter (AWS_VPC_K8S_CNI_LOGLEVEL).
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
