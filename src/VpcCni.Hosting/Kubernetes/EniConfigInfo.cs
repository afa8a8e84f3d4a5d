using System.Text.Json;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// What the daemon keeps of an ENIConfig (<c>crd.k8s.amazonaws.com/v1alpha1</c>): the subnets new ENIs may be created
/// in and their security groups (empty: the primary ENI's, as upstream). <c>spec.subnet</c> keeps upstream's meaning;
/// VpcCni's additive <c>spec.subnets</c> lists more subnets of the zone (the provider picks the one with the most free
/// addresses). An object the daemon cannot use keeps its <see cref="Problem"/>, which is reported instead of guessing.
/// </summary>
internal sealed record EniConfigInfo(string Name, IReadOnlyList<string> Subnets, IReadOnlyList<string> SecurityGroups, string? Problem = null)
{
    /// <summary>Decodes an object of a list or watch; never throws for a malformed spec (the problem is kept).</summary>
    public static EniConfigInfo? From(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object
            || !item.TryGetProperty("metadata", out var meta) || meta.ValueKind != JsonValueKind.Object
            || !meta.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
            || nameElement.GetString() is not { Length: > 0 } name)
        {
            return null;
        }

        if (!item.TryGetProperty("spec", out var spec) || spec.ValueKind != JsonValueKind.Object)
        {
            return new EniConfigInfo(name, [], [], "spec is missing or not an object");
        }

        var subnets = new List<string>();
        if (spec.TryGetProperty("subnet", out var subnet) && subnet.ValueKind != JsonValueKind.Null)
        {
            if (subnet.ValueKind != JsonValueKind.String || subnet.GetString() is not { Length: > 0 } id)
            {
                return new EniConfigInfo(name, [], [], "spec.subnet must be a subnet id (a non-empty string)");
            }

            subnets.Add(id);
        }

        var groups = new List<string>();
        if (!TryStrings(spec, "subnets", subnets, out var problem) || !TryStrings(spec, "securityGroups", groups, out problem))
        {
            return new EniConfigInfo(name, [], [], problem);
        }

        if (subnets.Count == 0)
        {
            return new EniConfigInfo(name, [], groups, "spec.subnet is missing (and spec.subnets is empty)");
        }

        return new EniConfigInfo(name, [.. subnets.Distinct(StringComparer.Ordinal)], [.. groups.Distinct(StringComparer.Ordinal)]);
    }

    private static bool TryStrings(JsonElement spec, string field, List<string> into, out string? problem)
    {
        problem = null;
        if (!spec.TryGetProperty(field, out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            problem = $"spec.{field} must be a list of ids";
            return false;
        }

        foreach (var entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.String || entry.GetString() is not { Length: > 0 } id)
            {
                problem = $"spec.{field} must contain only non-empty ids";
                return false;
            }

            into.Add(id);
        }

        return true;
    }
}
