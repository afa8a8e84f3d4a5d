using VpcCni.Linux.Namespaces;

namespace VpcCni.Linux.Sysctl;

/// <summary>
/// Reads and writes <c>/proc/sys/net/...</c> of a given network namespace. /proc/sys/net resolves to the
/// namespace of the thread that opens the file, so the file is opened on an executor thread inside it.
/// Keys use '/' separators (<c>net/ipv4/conf/eth0/rp_filter</c>) because interface names may contain dots.
/// </summary>
public sealed class NamespaceSysctl
{
    private readonly NetworkNamespaceExecutor _executor;

    public NamespaceSysctl(NetworkNamespaceExecutor? executor = null) => _executor = executor ?? NetworkNamespaceExecutor.Shared;

    /// <summary>Writes a value. Returns false when the key does not exist and <paramref name="ignoreMissing"/> is set.</summary>
    public bool Write(NetworkNamespace ns, string key, string value, bool ignoreMissing = false)
    {
        var path = PathOf(key);
        ArgumentNullException.ThrowIfNull(value);
        return _executor.Invoke(ns, static s =>
        {
            try
            {
                using var handle = File.OpenHandle(s.path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                RandomAccess.Write(handle, System.Text.Encoding.ASCII.GetBytes(s.value + "\n"), 0);
                return true;
            }
            catch (Exception ex) when (s.ignoreMissing && ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return false;
            }
        }, (path, value, ignoreMissing));
    }

    /// <summary>Writes several values in one trip to the namespace thread (missing keys optionally ignored).</summary>
    public void WriteAll(NetworkNamespace ns, IEnumerable<KeyValuePair<string, string>> values, bool ignoreMissing = false)
    {
        foreach (var (key, value) in values)
        {
            Write(ns, key, value, ignoreMissing);
        }
    }

    /// <summary>Reads a value (trimmed), or null when the key does not exist.</summary>
    public string? Read(NetworkNamespace ns, string key)
    {
        var path = PathOf(key);
        return _executor.Invoke(ns, static p =>
        {
            try
            {
                return File.ReadAllText(p).Trim();
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
        }, path);
    }

    internal static string PathOf(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!key.StartsWith("net/", StringComparison.Ordinal) || key.Contains("..", StringComparison.Ordinal) || key.Contains("//", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Sysctl key '{key}' must be a 'net/...' path without '..'.", nameof(key));
        }

        return "/proc/sys/" + key;
    }
}
