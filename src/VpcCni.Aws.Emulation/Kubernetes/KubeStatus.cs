using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// A Kubernetes API error: carries the <c>meta/v1 Status</c> the API server answers with (code, reason, message,
/// details), so clients (KubernetesClient, kubectl) see the errors they handle.
/// </summary>
internal sealed class KubeApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => KubeStatus.Failure(Code, Reason, Message, Details);

    public static KubeApiException NotFound(KubeResource resource, string name) =>
        new(404, "NotFound", $"{resource.Plural}{resource.GroupSuffix} \"{name}\" not found", KubeStatus.DetailsFor(resource, name));

    public static KubeApiException AlreadyExists(KubeResource resource, string name) =>
        new(409, "AlreadyExists", $"{resource.Plural}{resource.GroupSuffix} \"{name}\" already exists", KubeStatus.DetailsFor(resource, name));

    public static KubeApiException Conflict(KubeResource resource, string name) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {resource.Plural}{resource.GroupSuffix} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            KubeStatus.DetailsFor(resource, name));

    public static KubeApiException BadRequest(string message) => new(400, "BadRequest", message);

    /// <param name="message">"field: what is wrong", e.g. <c>spec.subnet: Invalid value: …</c>; the field also goes to
    /// details.causes, which kubectl prints.</param>
    public static KubeApiException Invalid(KubeResource resource, string name, string message)
    {
        var details = KubeStatus.DetailsFor(resource, name);
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        details["causes"] = new JsonArray(new JsonObject
        {
            ["reason"] = message.Contains("Required value", StringComparison.Ordinal) ? "FieldValueRequired" : "FieldValueInvalid",
            ["message"] = colon > 0 ? message[(colon + 2)..] : message,
            ["field"] = colon > 0 ? message[..colon] : "",
        });
        return new(422, "Invalid", $"{resource.Kind} \"{name}\" is invalid: {message}", details);
    }

    /// <summary>The 410 a watch (or list) from a resourceVersion older than the kept history gets.</summary>
    public static KubeApiException Expired(string resourceVersion) =>
        new(410, "Expired", $"too old resource version: {resourceVersion}");
}

/// <summary>Builds <c>meta/v1 Status</c> objects.</summary>
internal static class KubeStatus
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = code,
        };
        if (details is not null)
        {
            status["details"] = details;
        }

        return status;
    }

    public static JsonObject Success(KubeResource resource, string name, string? uid)
    {
        var details = DetailsFor(resource, name);
        if (uid is not null)
        {
            details["uid"] = uid;
        }

        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = details,
        };
    }

    public static JsonObject DetailsFor(KubeResource resource, string name)
    {
        var details = new JsonObject { ["name"] = name, ["kind"] = resource.Plural };
        if (resource.Group.Length > 0)
        {
            details["group"] = resource.Group;
        }

        return details;
    }
}
