using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>
/// Typed reads of the CNI documents' JSON values on <see cref="JsonDocument"/>, with the rules of System.Text.Json's
/// serializer under its defaults (which the codec used before, so inputs are accepted and refused exactly as then):
/// JSON null reads as absent, a string is only a JSON string, an integer only a JSON number that fits, and anything
/// else (or a string that is not valid UTF-8) is code 6 "failed to decode {what}".
/// </summary>
internal static class CniJsonValue
{
    /// <summary>
    /// Parses a whole document whose root must be an object. The caller disposes the document; JSON null is
    /// refused with its own detail, as the serializer returned null for it.
    /// </summary>
    public static JsonDocument ParseObjectDocument(ReadOnlySpan<byte> json, string what)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            throw Failed(what, ex.Message, ex);
        }
        catch (ArgumentException ex)
        {
            throw Failed(what, ex.Message, ex);
        }

        var kind = document.RootElement.ValueKind;
        if (kind == JsonValueKind.Object)
        {
            return document;
        }

        document.Dispose();
        throw Failed(what, kind == JsonValueKind.Null ? "the document is JSON null" : $"expected a JSON object, found {kind}");
    }

    /// <summary>The object's "cniVersion" (the last one when repeated, every one type-checked); null when absent.</summary>
    public static string? ReadCniVersion(JsonElement obj, string what)
    {
        string? version = null;
        foreach (var property in obj.EnumerateObject())
        {
            if (property.NameEquals("cniVersion"u8))
            {
                version = ReadString(property.Value, what, "cniVersion");
            }
        }

        return version;
    }

    /// <summary>True for an object, false for JSON null; any other value is refused.</summary>
    public static bool IsObject(JsonElement value, string what, string path) => value.ValueKind switch
    {
        JsonValueKind.Object => true,
        JsonValueKind.Null => false,
        _ => throw WrongKind(what, path, "an object", value),
    };

    /// <summary>True for an array, false for JSON null; any other value is refused.</summary>
    public static bool IsArray(JsonElement value, string what, string path) => value.ValueKind switch
    {
        JsonValueKind.Array => true,
        JsonValueKind.Null => false,
        _ => throw WrongKind(what, path, "an array", value),
    };

    public static string? ReadString(JsonElement value, string what, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                try
                {
                    return value.GetString();
                }
                catch (InvalidOperationException ex)
                {
                    // Invalid UTF-8, or an escaped lone surrogate.
                    throw Failed(what, $"\"{path}\": {ex.Message}", ex);
                }

            default:
                throw WrongKind(what, path, "a string", value);
        }
    }

    public static int? ReadInt32(JsonElement value, string what, string path) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when value.TryGetInt32(out var number) => number,
        _ => throw WrongKind(what, path, "a 32-bit integer", value),
    };

    /// <summary>A required unsigned 32-bit integer: JSON null is refused too.</summary>
    public static uint ReadUInt32(JsonElement value, string what, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetUInt32(out var number)
            ? number
            : throw WrongKind(what, path, "an unsigned 32-bit integer", value);

    /// <summary>An array of strings; a JSON null item stays a null item (the serializer kept them).</summary>
    public static List<string>? ReadStringList(JsonElement value, string what, string path)
    {
        if (!IsArray(value, what, path))
        {
            return null;
        }

        var list = new List<string>(value.GetArrayLength());
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(ReadString(item, what, $"{path}[{index}]")!);
            index++;
        }

        return list;
    }

    /// <summary>An array of objects; a JSON null item stays a null item for the caller to refuse with its index.</summary>
    public static List<T?>? ReadObjectList<T>(JsonElement value, string what, string path, Func<JsonElement, string, string, T> read)
        where T : class
    {
        if (!IsArray(value, what, path))
        {
            return null;
        }

        var list = new List<T?>(value.GetArrayLength());
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var itemPath = $"{path}[{index}]";
            list.Add(IsObject(item, what, itemPath) ? read(item, what, itemPath) : null);
            index++;
        }

        return list;
    }

    public static CniException Failed(string what, string details, Exception? inner = null) =>
        new(CniErrorCode.DecodingFailure, $"failed to decode {what}", details, inner);

    private static CniException WrongKind(string what, string path, string expected, JsonValueKind found) =>
        Failed(what, $"\"{path}\" must be {expected}, found {Describe(found)}");

    private static CniException WrongKind(string what, string path, string expected, JsonElement found) =>
        found.ValueKind == JsonValueKind.Number
            ? Failed(what, $"\"{path}\" must be {expected}, found the number {found.GetRawText()}")
            : WrongKind(what, path, expected, found.ValueKind);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
