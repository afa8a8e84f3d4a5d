using System.Text.Json;
using System.Text.Json.Serialization;

namespace VpcCni.Hosting.Kubernetes;

// The few fields the daemon reads from a watch stream. KubernetesClient.Aot has no watch (its Watcher is left out of
// the AOT build) and keeps its JSON context internal, so the lines of a watch are read with these source-generated
// shapes; lists, patches and events go through the library's typed calls.

/// <summary>One line of a watch response: {"type": "ADDED", "object": {...}}.</summary>
internal sealed record WireWatchEvent(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("object")] JsonElement Object);

internal sealed record WireObjectMeta(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("namespace")] string? Namespace,
    [property: JsonPropertyName("uid")] string? Uid,
    [property: JsonPropertyName("resourceVersion")] string? ResourceVersion,
    [property: JsonPropertyName("annotations")] Dictionary<string, string>? Annotations,
    [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels = null);

internal sealed record WirePodSpec([property: JsonPropertyName("nodeName")] string? NodeName);

internal sealed record WirePodStatus(
    [property: JsonPropertyName("phase")] string? Phase,
    [property: JsonPropertyName("podIP")] string? PodIP);

internal sealed record WirePod(
    [property: JsonPropertyName("metadata")] WireObjectMeta? Metadata,
    [property: JsonPropertyName("spec")] WirePodSpec? Spec,
    [property: JsonPropertyName("status")] WirePodStatus? Status);

internal sealed record WireNodeStatus(
    [property: JsonPropertyName("capacity")] Dictionary<string, string>? Capacity,
    [property: JsonPropertyName("allocatable")] Dictionary<string, string>? Allocatable);

internal sealed record WireNode(
    [property: JsonPropertyName("metadata")] WireObjectMeta? Metadata,
    [property: JsonPropertyName("status")] WireNodeStatus? Status);

/// <summary>The object of an ERROR event (a meta/v1 Status), e.g. code 410 when the resource version is too old.</summary>
internal sealed record WireStatus(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("message")] string? Message);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(WireWatchEvent))]
[JsonSerializable(typeof(WirePod))]
[JsonSerializable(typeof(WireNode))]
[JsonSerializable(typeof(WireStatus))]
internal sealed partial class KubernetesWireContext : JsonSerializerContext;
