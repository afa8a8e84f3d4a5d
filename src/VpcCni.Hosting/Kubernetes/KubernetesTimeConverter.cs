using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>meta/v1 Time on the wire: RFC 3339 in UTC with whole seconds ("2026-01-01T00:00:00Z"), as client-go writes it.</summary>
internal sealed class KubernetesTimeConverter : JsonConverter<DateTimeOffset>
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString() ?? throw new JsonException("a time is null"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
    }
}
