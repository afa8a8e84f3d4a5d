using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// A <c>labelSelector</c>: comma-separated requirements, each <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>,
/// <c>k in (a,b)</c>, <c>k notin (a,b)</c>, <c>k</c> (exists) or <c>!k</c> (does not exist); all must hold.
/// </summary>
internal sealed class KubeLabelSelector
{
    private readonly List<Func<JsonObject?, bool>> _requirements = [];

    private KubeLabelSelector()
    {
    }

    public static KubeLabelSelector Parse(string? text)
    {
        var selector = new KubeLabelSelector();
        foreach (var part in SplitTopLevel(text ?? string.Empty))
        {
            selector._requirements.Add(ParseRequirement(part));
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        return _requirements.All(r => r(labels));
    }

    private static Func<JsonObject?, bool> ParseRequirement(string part)
    {
        string? Label(JsonObject? labels, string key) => labels is not null && labels.TryGetPropertyValue(key, out var v) ? KubeObjectStore.Str(v) ?? string.Empty : null;

        var words = part.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length >= 2 && (words[1] == "in" || words[1] == "notin"))
        {
            var key = words[0];
            var rest = string.Join(' ', words.Skip(2)).Trim();
            if (!rest.StartsWith('(') || !rest.EndsWith(')'))
            {
                throw KubeApiException.BadRequest($"unable to parse requirement: values of \"{key} {words[1]}\" must be in parentheses");
            }

            var values = rest[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            return words[1] == "in"
                ? labels => Label(labels, key) is { } v && values.Contains(v)
                : labels => Label(labels, key) is not { } v || !values.Contains(v);
        }

        var trimmed = part.Trim();
        foreach (var op in (ReadOnlySpan<string>)["!=", "==", "="])
        {
            var at = trimmed.IndexOf(op, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = trimmed[..at].Trim();
                var value = trimmed[(at + op.Length)..].Trim();
                return op == "!="
                    ? labels => Label(labels, key) != value
                    : labels => Label(labels, key) == value;
            }
        }

        if (trimmed.StartsWith('!'))
        {
            var key = trimmed[1..].Trim();
            return labels => Label(labels, key) is null;
        }

        if (trimmed.Length == 0 || trimmed.Contains(' ', StringComparison.Ordinal))
        {
            throw KubeApiException.BadRequest($"unable to parse requirement: \"{part}\"");
        }

        return labels => Label(labels, trimmed) is not null;
    }

    /// <summary>Splits at commas outside parentheses.</summary>
    internal static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                var part = text[start..i].Trim();
                if (part.Length > 0)
                {
                    yield return part;
                }

                start = i + 1;
            }
            else if (text[i] == '(')
            {
                depth++;
            }
            else if (text[i] == ')')
            {
                depth--;
            }
        }
    }
}

/// <summary>
/// A <c>fieldSelector</c>: comma-separated <c>path=value</c>, <c>path==value</c> or <c>path!=value</c>, where the path
/// is any dotted JSON path of the object (<c>spec.nodeName</c>, <c>metadata.name</c>, <c>involvedObject.uid</c>, …).
/// The real server allows only a few fields per resource; this is a superset. A missing field compares as "".
/// </summary>
internal sealed class KubeFieldSelector
{
    private readonly List<(string[] Path, string Value, bool Negated)> _requirements = [];

    private KubeFieldSelector()
    {
    }

    public static KubeFieldSelector Parse(string? text)
    {
        var selector = new KubeFieldSelector();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var negated = part.Contains("!=", StringComparison.Ordinal);
            var op = negated ? "!=" : part.Contains("==", StringComparison.Ordinal) ? "==" : "=";
            var at = part.IndexOf(op, StringComparison.Ordinal);
            if (at <= 0)
            {
                throw KubeApiException.BadRequest($"invalid selector: '{part}'; can't understand '{part}'");
            }

            selector._requirements.Add((part[..at].Trim().Split('.'), part[(at + op.Length)..].Trim(), negated));
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (path, value, negated) in _requirements)
        {
            JsonNode? node = obj;
            foreach (var segment in path)
            {
                node = node is JsonObject o && o.TryGetPropertyValue(segment, out var child) ? child : null;
            }

            var actual = node switch
            {
                null => string.Empty,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                _ => node.ToJsonString(),
            };
            if ((actual == value) == negated)
            {
                return false;
            }
        }

        return true;
    }
}
