using System.Text.Json;
using System.Text.Json.Serialization;

namespace VpcCni.Hosting.Kubernetes;

// The few fields the daemon reads and writes. Lists, watches, patches and events are sent over the library's
// authenticated HttpClient with these source-generated shapes rather than through its typed calls: a typed call roots
// the library's JSON context for every Kubernetes model, which Native AOT then keeps (and rehydrates at start, ~11 MB
// of anonymous memory even when no API is configured; docs/benchmarks.md, "Daemon memory with the Kubernetes client").

/// <summary>One line of a watch response: {"type": "ADDED", "object": {...}}.</summary>
internal sealed record WireWatchEvent(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("object")] JsonElement Object);

internal sealed record WireObjectMeta(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("namespace")] string? Namespace,
    [property: JsonPropertyName("uid")] string? Uid,
    [property: JsonPropertyName("resourceVersion")] string? ResourceVersion,
    [property: JsonPropertyName("annotations")] Dictionary<string, string>? Annotations);

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

/// <summary>A list's metadata: the resource version to watch from and the continue token of a paged list.</summary>
internal sealed record WireListMeta(
    [property: JsonPropertyName("resourceVersion")] string? ResourceVersion,
    [property: JsonPropertyName("continue")] string? Continue);

internal sealed record WirePodList(
    [property: JsonPropertyName("metadata")] WireListMeta? Metadata,
    [property: JsonPropertyName("items")] List<WirePod>? Items);

internal sealed record WireNodeList(
    [property: JsonPropertyName("metadata")] WireListMeta? Metadata,
    [property: JsonPropertyName("items")] List<WireNode>? Items);

/// <summary>The metadata of an object the daemon creates (an event).</summary>
internal sealed record WireNewObjectMeta(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("namespace")] string Namespace);

internal sealed record WireObjectReference(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("uid")] string? Uid);

internal sealed record WireEventSource(
    [property: JsonPropertyName("component")] string Component,
    [property: JsonPropertyName("host")] string Host);

/// <summary>A core/v1 Event, the fields a kubelet-style event carries.</summary>
internal sealed record WireEvent(
    [property: JsonPropertyName("metadata")] WireNewObjectMeta Metadata,
    [property: JsonPropertyName("involvedObject")] WireObjectReference InvolvedObject,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("firstTimestamp")] string FirstTimestamp,
    [property: JsonPropertyName("lastTimestamp")] string LastTimestamp,
    [property: JsonPropertyName("source")] WireEventSource Source,
    [property: JsonPropertyName("reportingComponent")] string ReportingComponent,
    [property: JsonPropertyName("reportingInstance")] string ReportingInstance)
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; init; } = "v1";

    [JsonPropertyName("kind")]
    public string Kind { get; init; } = "Event";
}

/// <summary>The object of an ERROR event (a meta/v1 Status), e.g. code 410 when the resource version is too old.</summary>
internal sealed record WireStatus(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("message")] string? Message);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, NumberHandling = JsonNumberHandling.AllowReadingFromString,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireWatchEvent))]
[JsonSerializable(typeof(WirePod))]
[JsonSerializable(typeof(WireNode))]
[JsonSerializable(typeof(WireStatus))]
[JsonSerializable(typeof(WirePodList))]
[JsonSerializable(typeof(WireNodeList))]
[JsonSerializable(typeof(WireEvent))]
internal sealed partial class KubernetesWireContext : JsonSerializerContext;
