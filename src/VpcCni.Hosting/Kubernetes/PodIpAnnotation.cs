using System.Text;
using System.Text.Json;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>Upstream's ANNOTATE_POD_IP annotation: the pod's IP, written on ADD, cleared on DEL.</summary>
internal static class PodIpAnnotation
{
    public const string Key = "vpc.amazonaws.com/pod-ips";

    /// <summary>The JSON merge patch (application/merge-patch+json) that sets the annotation to <paramref name="value"/>.</summary>
    public static string MergePatch(string value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("metadata");
            writer.WriteStartObject("annotations");
            writer.WriteString(Key, value);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
