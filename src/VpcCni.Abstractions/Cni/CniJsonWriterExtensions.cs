using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>The codec's one rule for optional members: an absent (null) member is omitted, never written as null.</summary>
internal static class CniJsonWriterExtensions
{
    public static void WriteOptionalString(this Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    public static void WriteOptionalNumber(this Utf8JsonWriter writer, ReadOnlySpan<byte> name, int? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    /// <summary>An empty list is written as []; a null item (read from JSON null) is written back as null.</summary>
    public static void WriteOptionalStringList(this Utf8JsonWriter writer, ReadOnlySpan<byte> name, IReadOnlyList<string>? list)
    {
        if (list is null)
        {
            return;
        }

        writer.WriteStartArray(name);
        foreach (var item in list)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }
}
