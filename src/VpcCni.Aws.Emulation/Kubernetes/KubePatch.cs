using System.Globalization;
using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// The PATCH flavours: JSON merge patch (RFC 7386), strategic merge patch (as merge patch, plus merging lists of
/// objects by their <c>name</c> (or <c>type</c>) key and dropping <c>$</c> directives — enough for the fields node
/// agents and <c>kubectl apply</c> touch) and JSON patch (RFC 6902: add, remove, replace, test).
/// </summary>
internal static class KubePatch
{
    public const string MergePatch = "application/merge-patch+json";
    public const string StrategicMergePatch = "application/strategic-merge-patch+json";
    public const string JsonPatch = "application/json-patch+json";
    public const string ApplyPatch = "application/apply-patch+yaml";

    public static JsonObject Apply(string contentType, JsonObject target, JsonNode? patch)
    {
        switch (contentType)
        {
            case MergePatch:
            case StrategicMergePatch:
                if (patch is not JsonObject patchObject)
                {
                    throw KubeApiException.BadRequest("the patch must be a JSON object");
                }

                return (JsonObject)Merge(target, patchObject, contentType == StrategicMergePatch)!;
            case JsonPatch:
                if (patch is not JsonArray operations)
                {
                    throw KubeApiException.BadRequest("a JSON patch must be an array of operations");
                }

                JsonNode result = target;
                foreach (var op in operations)
                {
                    result = ApplyOperation(result, op as JsonObject ?? throw KubeApiException.BadRequest("a JSON patch operation must be an object"));
                }

                return result as JsonObject ?? throw KubeApiException.BadRequest("the patched document is not an object");
            default:
                throw new KubeApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: {JsonPatch}, {MergePatch}, {StrategicMergePatch}");
        }
    }

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch, bool strategic)
    {
        if (patch is JsonObject patchObject)
        {
            var result = target is JsonObject t ? t : new JsonObject();
            foreach (var (key, value) in patchObject.ToList())
            {
                if (strategic && key.StartsWith('$'))
                {
                    continue; // $setElementOrder/…, $retainKeys, $patch: ordering and retention hints only.
                }

                if (value is null)
                {
                    result.Remove(key);
                    continue;
                }

                result.TryGetPropertyValue(key, out var existing);
                result[key] = Merge(existing?.DeepClone(), value.DeepClone(), strategic);
            }

            return result;
        }

        if (strategic && patch is JsonArray patchArray && target is JsonArray targetArray && MergeKey(patchArray) is { } mergeKey)
        {
            var merged = new JsonArray(targetArray.Select(n => n?.DeepClone()).ToArray());
            foreach (var item in patchArray.OfType<JsonObject>())
            {
                var keyValue = KubeObjectStore.Str(item[mergeKey]);
                var index = merged.Select((n, i) => (n, i)).FirstOrDefault(p => KubeObjectStore.Str(p.n?[mergeKey]) == keyValue, (null, -1)).Item2;
                var delete = KubeObjectStore.Str(item["$patch"]) == "delete";
                if (index >= 0 && delete)
                {
                    merged.RemoveAt(index);
                }
                else if (index >= 0)
                {
                    merged[index] = Merge(merged[index]?.DeepClone(), item, strategic);
                }
                else if (!delete)
                {
                    merged.Add(Merge(null, item, strategic));
                }
            }

            return merged;
        }

        return patch?.DeepClone();
    }

    private static string? MergeKey(JsonArray array)
    {
        var objects = array.OfType<JsonObject>().ToList();
        if (objects.Count == 0 || objects.Count != array.Count)
        {
            return null;
        }

        return objects.All(o => o["name"] is not null) ? "name" : objects.All(o => o["type"] is not null) ? "type" : null;
    }

    private static JsonNode ApplyOperation(JsonNode document, JsonObject operation)
    {
        var op = KubeObjectStore.Str(operation["op"]);
        var path = KubeObjectStore.Str(operation["path"]) ?? throw KubeApiException.BadRequest("a JSON patch operation needs a path");
        var tokens = path.Length == 0 ? [] : path.Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        if (tokens.Length == 0)
        {
            return op is "add" or "replace" ? operation["value"]?.DeepClone() ?? throw KubeApiException.BadRequest("null document") : document;
        }

        JsonNode? parent = document;
        foreach (var token in tokens[..^1])
        {
            parent = parent switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => null,
            } ?? throw new KubeApiException(422, "Invalid", $"the server rejected our request due to an error in our request: path {path} does not exist");
        }

        var last = tokens[^1];
        var value = operation["value"]?.DeepClone();
        switch (op, parent)
        {
            case ("add" or "replace", JsonObject o):
                if (op == "replace" && !o.ContainsKey(last))
                {
                    throw new KubeApiException(422, "Invalid", $"replace operation does not apply: doc is missing key: {path}");
                }

                o[last] = value;
                break;
            case ("add", JsonArray a):
                a.Insert(last == "-" ? a.Count : Index(a, last, path, inclusive: true), value);
                break;
            case ("replace", JsonArray a):
                a[Index(a, last, path, inclusive: false)] = value;
                break;
            case ("remove", JsonObject o):
                if (!o.Remove(last))
                {
                    throw new KubeApiException(422, "Invalid", $"remove operation does not apply: doc is missing path: {path}");
                }

                break;
            case ("remove", JsonArray a):
                a.RemoveAt(Index(a, last, path, inclusive: false));
                break;
            case ("test", _):
                var actual = parent is JsonObject to ? to[last] : ((JsonArray)parent)[Index((JsonArray)parent, last, path, inclusive: false)];
                if (!JsonNode.DeepEquals(actual, value))
                {
                    throw new KubeApiException(422, "Invalid", $"testing value {path} failed");
                }

                break;
            default:
                throw KubeApiException.BadRequest($"unsupported JSON patch operation \"{op}\"");
        }

        return document;
    }

    private static int Index(JsonArray array, string token, string path, bool inclusive) =>
        int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && (i < array.Count || (inclusive && i == array.Count))
            ? i
            : throw new KubeApiException(422, "Invalid", $"index out of range in path {path}");
}
