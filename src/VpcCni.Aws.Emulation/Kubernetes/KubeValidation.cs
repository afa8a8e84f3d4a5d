using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// What the emulated server checks in a body before storing it: a JSON object whose apiVersion and kind (filled in
/// from the URL when absent, as the API server's decoder does) name the resource, and the types of the fields the
/// CNI reads (the CRDs' structural schemas, and a pod's <c>spec.nodeName</c>). Objects are otherwise stored as given.
/// </summary>
internal static class KubeValidation
{
    public static JsonObject ParseBody(string body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw KubeApiException.BadRequest("the body of the request could not be decoded: " + e.Message);
        }

        return node as JsonObject ?? throw KubeApiException.BadRequest("the body of the request must be a JSON object");
    }

    /// <summary>Checks (and completes) an object about to be stored as <paramref name="resource"/>.</summary>
    public static void Validate(KubeResource resource, JsonObject obj)
    {
        CheckHeader(obj, "apiVersion", resource.ApiVersion);
        CheckHeader(obj, "kind", resource.Kind);
        var name = KubeObjectStore.Str(obj["metadata"]?["name"]) ?? "";
        if (obj["metadata"] is not JsonObject meta)
        {
            throw KubeApiException.Invalid(resource, name, "metadata: Required value");
        }

        foreach (var map in (ReadOnlySpan<string>)["labels", "annotations"])
        {
            if (meta[map] is { } m && (m is not JsonObject o || o.Any(p => p.Value is not JsonValue v || !v.TryGetValue<string>(out _))))
            {
                throw KubeApiException.Invalid(resource, name, $"metadata.{map}: Invalid value: must be a map of strings");
            }
        }

        var spec = obj["spec"];
        if (spec is not null and not JsonObject)
        {
            throw KubeApiException.Invalid(resource, name, "spec: Invalid value: must be an object");
        }

        if (resource == KubeResource.EniConfigs)
        {
            RequireType(resource, name, spec?["subnet"], "spec.subnet", Kind.String);
            RequireType(resource, name, spec?["securityGroups"], "spec.securityGroups", Kind.StringArray);
            RequireType(resource, name, spec?["subnets"], "spec.subnets", Kind.StringArray);
        }
        else if (resource == KubeResource.CniNodes)
        {
            if (spec?["features"] is { } features)
            {
                if (features is not JsonArray items || items.Any(f => f is not JsonObject))
                {
                    throw KubeApiException.Invalid(resource, name, "spec.features: Invalid value: must be a list of {name, value}");
                }

                foreach (var f in items.Cast<JsonObject>())
                {
                    RequireType(resource, name, f["name"], "spec.features[].name", Kind.String);
                    RequireType(resource, name, f["value"], "spec.features[].value", Kind.String);
                }
            }
        }
        else if (resource == KubeResource.Pods)
        {
            RequireType(resource, name, spec?["nodeName"], "spec.nodeName", Kind.String);
        }
    }

    private enum Kind
    {
        String,
        StringArray,
    }

    private static void RequireType(KubeResource resource, string name, JsonNode? node, string path, Kind kind)
    {
        var ok = node switch
        {
            null => true,
            JsonValue v when kind == Kind.String => v.TryGetValue<string>(out _),
            JsonArray a when kind == Kind.StringArray => a.All(i => i is JsonValue iv && iv.TryGetValue<string>(out _)),
            _ => false,
        };
        if (!ok)
        {
            throw KubeApiException.Invalid(resource, name,
                $"{path}: Invalid value: \"{node!.GetValueKind()}\": {path} in body must be of type {(kind == Kind.String ? "string" : "array of strings")}");
        }
    }

    private static void CheckHeader(JsonObject obj, string field, string expected)
    {
        var value = obj[field];
        if (value is null)
        {
            obj[field] = expected;
            return;
        }

        if (KubeObjectStore.Str(value) != expected)
        {
            throw KubeApiException.BadRequest($"the API version in the data ({KubeObjectStore.Str(obj["apiVersion"])}) and kind ({KubeObjectStore.Str(obj["kind"])}) do not match the resource: expected {field} {expected}");
        }
    }
}
