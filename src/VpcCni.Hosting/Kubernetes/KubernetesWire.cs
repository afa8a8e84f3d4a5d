using System.Text.Json;
using System.Text.Json.Serialization;

namespace VpcCni.Hosting.Kubernetes;

// The few fields the daemon reads and writes, as source-generated JSON shapes. The calls are hand-written over
// HttpClient (KubernetesConnection) rather than KubernetesClient.Aot's typed client: that client roots the library's
// ~1,700 models and its JSON context, ~20 MB of the Native AOT daemon's resident memory (docs/benchmarks.md).

/// <summary>One line of a watch response: {"type": "ADDED", "object": {...}}.</summary>
internal sealed record WireWatchEvent(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("object")] JsonElement Object);

internal sealed record WireObjectMeta(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("namespace")] string? Namespace,
    [property: JsonPropertyName("uid")] string? Uid = null,
    [property: JsonPropertyName("resourceVersion")] string? ResourceVersion = null,
    [property: JsonPropertyName("annotations")] Dictionary<string, string>? Annotations = null,
    [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels = null);

/// <summary>The metadata of a list: where the next watch starts, and the token of the next page.</summary>
internal sealed record WireListMeta(
    [property: JsonPropertyName("resourceVersion")] string? ResourceVersion,
    [property: JsonPropertyName("continue")] string? Continue);

internal sealed record WirePodSpec([property: JsonPropertyName("nodeName")] string? NodeName);

internal sealed record WirePodStatus(
    [property: JsonPropertyName("phase")] string? Phase,
    [property: JsonPropertyName("podIP")] string? PodIP);

internal sealed record WirePod(
    [property: JsonPropertyName("metadata")] WireObjectMeta? Metadata,
    [property: JsonPropertyName("spec")] WirePodSpec? Spec,
    [property: JsonPropertyName("status")] WirePodStatus? Status);

internal sealed record WirePodList(
    [property: JsonPropertyName("metadata")] WireListMeta? Metadata,
    [property: JsonPropertyName("items")] List<WirePod>? Items);

internal sealed record WireNodeStatus(
    [property: JsonPropertyName("capacity")] Dictionary<string, string>? Capacity,
    [property: JsonPropertyName("allocatable")] Dictionary<string, string>? Allocatable);

internal sealed record WireNode(
    [property: JsonPropertyName("metadata")] WireObjectMeta? Metadata,
    [property: JsonPropertyName("status")] WireNodeStatus? Status);

internal sealed record WireNodeList(
    [property: JsonPropertyName("metadata")] WireListMeta? Metadata,
    [property: JsonPropertyName("items")] List<WireNode>? Items);

/// <summary>The two fields of an object's metadata the fleet order needs (creationTimestamp kept as text: parsed leniently).</summary>
internal sealed record WireNameAndAge(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("creationTimestamp")] string? CreationTimestamp);

/// <summary>A node as its metadata alone (a meta/v1 PartialObjectMetadata, or a full Node whose other fields are skipped).</summary>
internal sealed record WireNodeMetadata([property: JsonPropertyName("metadata")] WireNameAndAge? Metadata);

/// <summary>The cluster's nodes as metadata alone (a meta/v1 PartialObjectMetadataList, or a NodeList).</summary>
internal sealed record WireNodeMetadataList(
    [property: JsonPropertyName("metadata")] WireListMeta? Metadata,
    [property: JsonPropertyName("items")] List<WireNodeMetadata>? Items);

/// <summary>A meta/v1 Status: the body of an error answer and the object of an ERROR watch event (code 410: too old).</summary>
internal sealed record WireStatus(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("message")] string? Message);

internal sealed record WireObjectReference(
    [property: JsonPropertyName("apiVersion")] string? ApiVersion,
    [property: JsonPropertyName("kind")] string? Kind,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("namespace")] string? Namespace,
    [property: JsonPropertyName("uid")] string? Uid);

internal sealed record WireEventSource(
    [property: JsonPropertyName("component")] string? Component,
    [property: JsonPropertyName("host")] string? Host);

/// <summary>A core/v1 Event, the fields the daemon sets (timestamps are meta/v1 Time: RFC 3339, seconds, UTC).</summary>
internal sealed record WireEvent(
    [property: JsonPropertyName("metadata")] WireObjectMeta Metadata,
    [property: JsonPropertyName("involvedObject")] WireObjectReference InvolvedObject,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("count")] int? Count,
    [property: JsonPropertyName("firstTimestamp"), JsonConverter(typeof(KubernetesTimeConverter))] DateTimeOffset? FirstTimestamp,
    [property: JsonPropertyName("lastTimestamp"), JsonConverter(typeof(KubernetesTimeConverter))] DateTimeOffset? LastTimestamp,
    [property: JsonPropertyName("source")] WireEventSource? Source,
    [property: JsonPropertyName("reportingComponent")] string? ReportingComponent,
    [property: JsonPropertyName("reportingInstance")] string? ReportingInstance);

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireWatchEvent))]
[JsonSerializable(typeof(WirePod))]
[JsonSerializable(typeof(WirePodList))]
[JsonSerializable(typeof(WireNode))]
[JsonSerializable(typeof(WireNodeList))]
[JsonSerializable(typeof(WireNodeMetadata))]
[JsonSerializable(typeof(WireNodeMetadataList))]
[JsonSerializable(typeof(WireStatus))]
[JsonSerializable(typeof(WireEvent))]
internal sealed partial class KubernetesWireContext : JsonSerializerContext;
