using Microsoft.Extensions.Logging;
using VpcCni.Configuration;

namespace VpcCni.Hosting.Configuration;

/// <summary>
/// Upstream's log level names (zap: debug, info, warn, error, fatal, any case) and .NET's own spellings, for
/// AWS_VPC_K8S_CNI_LOGLEVEL and AWS_VPC_K8S_PLUGIN_LOG_LEVEL. Upstream turns an unknown name into Debug silently;
/// here it stops the daemon at start, naming the variable.
/// </summary>
internal static class UpstreamLogLevel
{
    /// <summary>The accepted names, for the error text.</summary>
    public const string Names = "DEBUG, INFO, WARN, ERROR or FATAL (any case; TRACE, INFORMATION, WARNING, CRITICAL and NONE too)";

    /// <summary>Maps a name to its level; false for an unknown one.</summary>
    public static bool TryParse(string? value, out LogLevel level)
    {
        LogLevel? parsed = value?.Trim().ToUpperInvariant() switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFO" or "INFORMATION" => LogLevel.Information,
            "WARN" or "WARNING" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "FATAL" or "CRITICAL" => LogLevel.Critical,
            "NONE" => LogLevel.None,
            _ => null,
        };
        level = parsed ?? default;
        return parsed is not null;
    }

    /// <summary>The variable's level, <paramref name="defaultLevel"/> when unset; an unknown name throws naming the variable.</summary>
    public static LogLevel Read(EnvironmentReader env, string name, LogLevel defaultLevel)
    {
        ArgumentNullException.ThrowIfNull(env);
        var value = env.String(name);
        if (value is null)
        {
            return defaultLevel;
        }

        return TryParse(value, out var level) ? level : throw new InvalidSettingException(name, value, "must be " + Names);
    }
}
