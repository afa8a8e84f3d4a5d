using System.Text;
using System.Text.Json;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The node's CNINode (<c>vpcresources.k8s.aws/v1alpha1</c>, named after the node, created by the VPC resource
/// controller): under custom networking its <c>spec.features</c> carries <c>{name: CustomNetworking, value: ENIConfig}</c>
/// (not for the name <c>default</c>, as upstream), so the controller places branch ENIs with the same ENIConfig. The
/// list is replaced under an optimistic lock (resourceVersion) and a feature of the same name with another value is
/// replaced, as upstream.
/// </summary>
internal static class CniNodeFeatures
{
    public const string FeatureName = "CustomNetworking";

    public static string PathOf(string nodeName) => "apis/vpcresources.k8s.aws/v1alpha1/cninodes/" + Uri.EscapeDataString(nodeName);

    /// <summary>
    /// The merge patch that makes <paramref name="cniNode"/>'s features hold (<paramref name="name"/>, <paramref name="value"/>),
    /// or null when they already do.
    /// </summary>
    public static string? Patch(JsonElement cniNode, string name, string value)
    {
        var features = new List<(string Name, string Value)>();
        if (cniNode.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object
            && spec.TryGetProperty("features", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var f in list.EnumerateArray())
            {
                if (f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                {
                    var v = f.TryGetProperty("value", out var fv) && fv.ValueKind == JsonValueKind.String ? fv.GetString() ?? "" : "";
                    features.Add((n.GetString()!, v));
                }
            }
        }

        if (features.Contains((name, value)))
        {
            return null;
        }

        features.RemoveAll(f => f.Name == name);
        features.Add((name, value));
        var resourceVersion = cniNode.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object
            && meta.TryGetProperty("resourceVersion", out var rv) && rv.ValueKind == JsonValueKind.String ? rv.GetString() : null;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (resourceVersion is not null)
            {
                w.WriteStartObject("metadata");
                w.WriteString("resourceVersion", resourceVersion);
                w.WriteEndObject();
            }

            w.WriteStartObject("spec");
            w.WriteStartArray("features");
            foreach (var (fname, fvalue) in features)
            {
                w.WriteStartObject();
                w.WriteString("name", fname);
                w.WriteString("value", fvalue);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
