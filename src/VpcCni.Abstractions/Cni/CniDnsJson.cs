using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>The "dns" object of results and network configurations.</summary>
internal static class CniDnsJson
{
    /// <summary>Null for JSON null; unknown keys are ignored, a repeated key's last value wins.</summary>
    public static CniDns? Read(JsonElement value, string what, string path)
    {
        if (!CniJsonValue.IsObject(value, what, path))
        {
            return null;
        }

        List<string>? nameservers = null, search = null, options = null;
        string? domain = null;
        foreach (var property in value.EnumerateObject())
        {
            if (property.NameEquals("nameservers"u8))
            {
                nameservers = CniJsonValue.ReadStringList(property.Value, what, $"{path}.nameservers");
            }
            else if (property.NameEquals("domain"u8))
            {
                domain = CniJsonValue.ReadString(property.Value, what, $"{path}.domain");
            }
            else if (property.NameEquals("search"u8))
            {
                search = CniJsonValue.ReadStringList(property.Value, what, $"{path}.search");
            }
            else if (property.NameEquals("options"u8))
            {
                options = CniJsonValue.ReadStringList(property.Value, what, $"{path}.options");
            }
        }

        return new CniDns { Nameservers = nameservers, Domain = domain, Search = search, Options = options };
    }

    /// <summary>Absent (null) members are omitted; an empty list is written as [].</summary>
    public static void Write(Utf8JsonWriter writer, CniDns dns)
    {
        writer.WriteStartObject("dns"u8);
        writer.WriteOptionalStringList("nameservers"u8, dns.Nameservers);
        writer.WriteOptionalString("domain"u8, dns.Domain);
        writer.WriteOptionalStringList("search"u8, dns.Search);
        writer.WriteOptionalStringList("options"u8, dns.Options);
        writer.WriteEndObject();
    }
}
