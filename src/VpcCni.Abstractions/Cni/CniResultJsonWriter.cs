using System.Buffers;
using System.Text.Json;

namespace VpcCni.Cni;

/// <summary>
/// Writes a result in the shape of its own version: keys in the spec's order, absent members and empty lists
/// omitted, strings escaped as <see cref="Utf8JsonWriter"/>'s default encoder does (<see cref="CniJsonEncoder"/>: the
/// bytes the codec has always written).
/// </summary>
internal static class CniResultJsonWriter
{
    public static byte[] Write(CniResult result)
    {
        var shape = CniVersion.ShapeOf(result.CniVersion);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, CniJsonEncoder.WriterOptions))
        {
            if (shape == ResultShape.Legacy)
            {
                // Writing a legacy shape is converting to it: only one address per family fits.
                WriteLegacy(writer, CniResultConverter.Convert(result, result.CniVersion));
            }
            else
            {
                Write(writer, result, shape == ResultShape.Versioned);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, CniResult result, bool versioned)
    {
        writer.WriteStartObject();
        writer.WriteOptionalString("cniVersion"u8, result.CniVersion);
        if (result.Interfaces.Count > 0)
        {
            writer.WriteStartArray("interfaces"u8);
            foreach (var item in result.Interfaces)
            {
                writer.WriteStartObject();
                writer.WriteOptionalString("name"u8, item.Name);
                writer.WriteOptionalString("mac"u8, item.Mac);
                if (!versioned)
                {
                    writer.WriteOptionalNumber("mtu"u8, item.Mtu);
                }

                writer.WriteOptionalString("sandbox"u8, item.Sandbox);
                if (!versioned)
                {
                    writer.WriteOptionalString("socketPath"u8, item.SocketPath);
                    writer.WriteOptionalString("pciID"u8, item.PciId);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (result.Ips.Count > 0)
        {
            writer.WriteStartArray("ips"u8);
            foreach (var item in result.Ips)
            {
                writer.WriteStartObject();
                if (versioned)
                {
                    writer.WriteString("version"u8, item.Address.IsIPv4 ? "4"u8 : "6"u8);
                }

                writer.WriteOptionalNumber("interface"u8, item.Interface);
                writer.WriteString("address"u8, item.Address.ToString());
                writer.WriteOptionalString("gateway"u8, item.Gateway?.ToString());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (result.Routes.Count > 0)
        {
            writer.WriteStartArray("routes"u8);
            foreach (var item in result.Routes)
            {
                writer.WriteStartObject();
                writer.WriteString("dst"u8, item.Destination.ToString());
                writer.WriteOptionalString("gw"u8, item.Gateway?.ToString());
                writer.WriteOptionalNumber("mtu"u8, item.Mtu);
                writer.WriteOptionalNumber("advmss"u8, item.AdvMss);
                writer.WriteOptionalNumber("priority"u8, item.Priority);
                writer.WriteOptionalNumber("table"u8, item.Table);
                writer.WriteOptionalNumber("scope"u8, item.Scope);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (result.Dns is not null)
        {
            CniDnsJson.Write(writer, result.Dns);
        }

        writer.WriteEndObject();
    }

    /// <summary>0.1.0/0.2.0 from an already converted result: "ip4" and "ip6", each with its family's routes.</summary>
    private static void WriteLegacy(Utf8JsonWriter writer, CniResult result)
    {
        writer.WriteStartObject();
        writer.WriteOptionalString("cniVersion"u8, result.CniVersion);
        WriteLegacyIP(writer, "ip4"u8, result, ipv4: true);
        WriteLegacyIP(writer, "ip6"u8, result, ipv4: false);
        if (result.Dns is not null)
        {
            CniDnsJson.Write(writer, result.Dns);
        }

        writer.WriteEndObject();
    }

    private static void WriteLegacyIP(Utf8JsonWriter writer, ReadOnlySpan<byte> name, CniResult result, bool ipv4)
    {
        var ip = result.Ips.FirstOrDefault(ip => ip.Address.IsIPv4 == ipv4);
        if (ip is null)
        {
            return;
        }

        writer.WriteStartObject(name);
        writer.WriteString("ip"u8, ip.Address.ToString());
        writer.WriteOptionalString("gateway"u8, ip.Gateway?.ToString());
        var routes = false;
        foreach (var route in result.Routes)
        {
            if (route.Destination.IsIPv4 != ipv4)
            {
                continue;
            }

            if (!routes)
            {
                writer.WriteStartArray("routes"u8);
                routes = true;
            }

            writer.WriteStartObject();
            writer.WriteString("dst"u8, route.Destination.ToString());
            writer.WriteOptionalString("gw"u8, route.Gateway?.ToString());
            writer.WriteEndObject();
        }

        if (routes)
        {
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }
}
