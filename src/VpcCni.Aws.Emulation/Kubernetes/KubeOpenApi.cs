using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// A minimal OpenAPI v3 surface, just enough for <c>kubectl apply</c> with its default validation: the root
/// (<c>/openapi/v3</c>) lists each group version, and each group version's document declares, for every kind, a PATCH
/// operation that accepts the <c>fieldValidation</c> query parameter. kubectl then leaves validation to the server
/// (which does what <see cref="KubeValidation"/> does) instead of downloading schemas to validate itself. No schemas
/// are served: kubectl falls back to its built-in types for strategic merge patches and to JSON merge patches for
/// custom resources. <c>/openapi/v2</c> is an empty Swagger 2.0 document (no definitions), which older kubectl
/// (Debian's 1.20) needs to validate at all: with no schema for a kind it validates nothing client-side.
/// </summary>
internal static class KubeOpenApi
{
    /// <summary>
    /// Content type of the protobuf answer. Not the media type client-go asks for: its '@' makes Go's mime parser
    /// (in kubectl 1.20's error path) fail, and clients read the body raw anyway.
    /// </summary>
    public const string V2ProtobufMediaType = "application/octet-stream";

    /// <summary>The empty Swagger 2.0 document as JSON.</summary>
    public static JsonObject V2Json() => new()
    {
        ["swagger"] = "2.0",
        ["info"] = new JsonObject { ["title"] = Title, ["version"] = Version },
        ["paths"] = new JsonObject(),
    };

    /// <summary>
    /// The same document as gnostic's <c>openapi_v2.Document</c> protobuf: swagger (field 1), info (2: title 1,
    /// version 2) and an empty paths message (8).
    /// </summary>
    public static byte[] V2Protobuf()
    {
        static void Field(List<byte> to, int number, byte[] value)
        {
            to.Add((byte)((number << 3) | 2));
            to.Add(checked((byte)value.Length)); // every part is shorter than 128 bytes: a one-byte varint
            to.AddRange(value);
        }

        var info = new List<byte>();
        Field(info, 1, System.Text.Encoding.UTF8.GetBytes(Title));
        Field(info, 2, System.Text.Encoding.UTF8.GetBytes(Version));
        var document = new List<byte>();
        Field(document, 1, "2.0"u8.ToArray());
        Field(document, 2, [.. info]);
        Field(document, 8, []);
        return [.. document];
    }

    private const string Title = "VpcCni Kubernetes API emulator";

    private static string Version => $"v{KubeDiscovery.Major}.{KubeDiscovery.Minor}.0";

    private static string GvPath(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    public static JsonObject Root()
    {
        var paths = new JsonObject();
        foreach (var gv in KubeResource.All.Select(r => (r.Group, r.Version)).Distinct())
        {
            var path = GvPath(gv.Group, gv.Version);
            paths[path] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{path}?hash=0" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>The document of <c>/openapi/v3/api/v1</c> or <c>/openapi/v3/apis/GROUP/VERSION</c>; null when not served.</summary>
    public static JsonObject? GroupVersion(string path)
    {
        var resources = KubeResource.All.Where(r => GvPath(r.Group, r.Version) == path.Trim('/')).ToList();
        if (resources.Count == 0)
        {
            return null;
        }

        var paths = new JsonObject();
        foreach (var r in resources)
        {
            var item = $"/{GvPath(r.Group, r.Version)}/{(r.Namespaced ? "namespaces/{namespace}/" : "")}{r.Plural}/{{name}}";
            paths[item] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patch{r.Kind}",
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind },
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
                },
            };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = Title, ["version"] = Version },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = new JsonObject() },
        };
    }
}
