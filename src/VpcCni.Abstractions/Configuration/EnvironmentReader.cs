using System.Globalization;
using System.Net;

namespace VpcCni.Configuration;

/// <summary>
/// Reads upstream's environment variables with upstream's formats. Unlike upstream, a value that does not parse
/// stops the daemon at start (<see cref="InvalidSettingException"/> naming the variable) instead of being replaced
/// by the default silently.
/// </summary>
public sealed class EnvironmentReader(Func<string, string?> get)
{
    /// <summary>The process environment.</summary>
    public static EnvironmentReader Process { get; } = new(Environment.GetEnvironmentVariable);

    /// <summary>A fixed map (tests).</summary>
    public static EnvironmentReader From(IReadOnlyDictionary<string, string> values) => new(k => values.TryGetValue(k, out var v) ? v : null);

    public string? String(string name) => get(name) is { Length: > 0 } value ? value : null;

    public string String(string name, string defaultValue) => String(name) ?? defaultValue;

    /// <summary>Go's ParseBool set: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.</summary>
    public bool Bool(string name, bool defaultValue) => String(name) switch
    {
        null => defaultValue,
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        var other => throw new InvalidSettingException(name, other, "must be a boolean (true/false/1/0)"),
    };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Int(string name, int defaultValue, int min = 0, int max = int.MaxValue)
    {
        var text = String(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidSettingException(name, text, "must be an integer");
        }

        return value >= min && value <= max ? value : throw new InvalidSettingException(name, text, $"must be between {min} and {max}");
    }

    /// <summary>Whole seconds (upstream's duration format for these variables).</summary>
    public TimeSpan Seconds(string name, TimeSpan defaultValue) =>
        String(name) is null ? defaultValue : TimeSpan.FromSeconds(Int(name, 0, 0, 86_400));

    /// <summary>One of <paramref name="allowed"/> (case-insensitive); returns the allowed spelling.</summary>
    public string OneOf(string name, string defaultValue, params string[] allowed)
    {
        var text = String(name);
        if (text is null)
        {
            return defaultValue;
        }

        return allowed.FirstOrDefault(a => a.Equals(text, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidSettingException(name, text, $"must be one of {string.Join(", ", allowed)}");
    }

    /// <summary>Comma-separated IPv4 CIDRs, normalised to network form (10.0.0.1/24 → 10.0.0.0/24).</summary>
    public IReadOnlyList<IPNetwork> Cidrs(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return [];
        }

        var list = new List<IPNetwork>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var slash = item.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !IPAddress.TryParse(item.AsSpan(0, slash), out var address) ||
                !int.TryParse(item.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) ||
                address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || prefix > 32)
            {
                throw new InvalidSettingException(name, item, "must be a comma-separated list of IPv4 CIDRs (e.g. 10.0.0.0/8,172.16.0.0/12)");
            }

            list.Add(new IPNetwork(Cni.IPAddressAndPrefix.Parse(item).Network.BaseAddress, prefix));
        }

        return list;
    }

    /// <summary>An unsigned 32-bit value with base auto-detection (0x80, 128, 0200), as upstream's connmark.</summary>
    public uint UInt32Auto(string name, uint defaultValue)
    {
        var text = String(name);
        if (text is null)
        {
            return defaultValue;
        }

        try
        {
            var value = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Convert.ToUInt32(text[2..], 16)
                : text.Length > 1 && text[0] == '0' ? Convert.ToUInt32(text[1..], 8)
                : uint.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
            return value > 0 ? value : throw new InvalidSettingException(name, text, "must be greater than 0");
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new InvalidSettingException(name, text, "must be a 32-bit unsigned number (decimal, 0x hex or 0 octal)");
        }
    }
}
