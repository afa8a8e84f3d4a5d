namespace VpcCni.Cni;

/// <summary>
/// CNI_ARGS: "K=V;K2=V2". Each pair must hold exactly one '='. <see cref="EnsureOnlyKnownKeys"/> applies the
/// ecosystem rule that unknown keys are an error unless IgnoreUnknown=1 (or true) is present.
/// </summary>
public sealed class CniArgs
{
    public const string IgnoreUnknownKey = "IgnoreUnknown";

    private readonly KeyValuePair<string, string>[] _pairs;

    private CniArgs(KeyValuePair<string, string>[] pairs) => _pairs = pairs;

    public static CniArgs Empty { get; } = new([]);

    /// <summary>The pairs in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    /// <summary>True when IgnoreUnknown is "1" or "true" (case-insensitive).</summary>
    public bool IgnoreUnknown =>
        TryGet(IgnoreUnknownKey, out var value) && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses CNI_ARGS; a malformed pair is a code 4 error naming CNI_ARGS.</summary>
    public static CniArgs Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Empty;
        }

        var items = text.Split(';');
        var pairs = new List<KeyValuePair<string, string>>(items.Length);
        foreach (var item in items)
        {
            if (item.Length == 0)
            {
                // A trailing ';' is common in hand-written values and carries no pair.
                continue;
            }

            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || item.IndexOf('=', eq + 1) >= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"invalid {CniEnvironment.ArgsVariable} pair \"{item}\"", "each pair must be KEY=VALUE with exactly one '='");
            }

            pairs.Add(new(item[..eq], item[(eq + 1)..]));
        }

        return new CniArgs([.. pairs]);
    }

    /// <summary>The value of the last occurrence of <paramref name="key"/>.</summary>
    public bool TryGet(string key, out string value)
    {
        for (var i = _pairs.Length - 1; i >= 0; i--)
        {
            if (_pairs[i].Key == key)
            {
                value = _pairs[i].Value;
                return true;
            }
        }

        value = "";
        return false;
    }

    public string? Get(string key) => TryGet(key, out var value) ? value : null;

    /// <summary>Fails (code 4) on keys outside <paramref name="knownKeys"/> unless IgnoreUnknown is set.</summary>
    public void EnsureOnlyKnownKeys(params ReadOnlySpan<string> knownKeys)
    {
        if (IgnoreUnknown)
        {
            return;
        }

        foreach (var pair in _pairs)
        {
            if (pair.Key == IgnoreUnknownKey)
            {
                continue;
            }

            var known = false;
            foreach (var k in knownKeys)
            {
                if (k == pair.Key)
                {
                    known = true;
                    break;
                }
            }

            if (!known)
            {
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"unknown {CniEnvironment.ArgsVariable} key \"{pair.Key}\"", "set IgnoreUnknown=1 to ignore keys this plugin does not know");
            }
        }
    }

    public override string ToString() => string.Join(";", _pairs.Select(p => p.Key + "=" + p.Value));
}
