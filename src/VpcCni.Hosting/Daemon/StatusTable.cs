using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VpcCni.Hosting.Daemon;

/// <summary>Renders the introspection /v1/enis document as the status command's table.</summary>
internal static class StatusTable
{
    public static string Render(JsonElement enis)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"CARD",-4} {"ENI",-24} {"DEVICE",6} {"TABLE",5} {"PRIMARY",7} {"ADDRESSES",9} {"ASSIGNED",8} {"COOLING",7}");
        int total = 0, assigned = 0, cooling = 0;
        foreach (var card in enis.EnumerateObject())
        {
            foreach (var eni in card.Value.GetProperty("ENIs").EnumerateObject())
            {
                var e = eni.Value;
                var addresses = e.TryGetProperty("Addresses", out var a) ? a.GetInt32() : 0;
                var used = e.TryGetProperty("Assigned", out var u) ? u.GetInt32() : 0;
                var cool = e.TryGetProperty("Cooling", out var c) ? c.GetInt32() : 0;
                total += addresses;
                assigned += used;
                cooling += cool;
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"{card.Name,-4} {eni.Name,-24} {e.GetProperty("DeviceNumber").GetInt32(),6} {e.GetProperty("RouteTableID").GetInt32(),5} {(e.GetProperty("IsPrimary").GetBoolean() ? "yes" : "no"),7} {addresses,9} {used,8} {cool,7}");
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"{"",-4} {"TOTAL",-24} {"",6} {"",5} {"",7} {total,9} {assigned,8} {cooling,7}");
        return text.ToString();
    }
}
