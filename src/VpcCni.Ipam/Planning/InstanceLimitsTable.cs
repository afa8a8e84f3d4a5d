using System.Globalization;
using VpcCni.Cloud;

namespace VpcCni.Ipam;

/// <summary>
/// The instance-limits table (CSV: <c>instance_type,max_enis,ipv4_per_eni,default_network_card,hypervisor,bare_metal,network_cards</c>),
/// for max-pods and the planner.
/// </summary>
public sealed class InstanceLimitsTable
{
    private readonly Dictionary<string, InstanceLimits> _byType;

    private InstanceLimitsTable(Dictionary<string, InstanceLimits> byType) => _byType = byType;

    public IReadOnlyCollection<InstanceLimits> All => _byType.Values;

    /// <summary>Parses the CSV; a malformed line fails with its line number.</summary>
    public static InstanceLimitsTable Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var map = new Dictionary<string, InstanceLimits>(StringComparer.Ordinal);
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (lineNo == 1 && line.StartsWith("instance_type", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var f = line.Split(',');
            if (f.Length < 6 || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var enis) ||
                !int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ips) ||
                !int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var card))
            {
                throw new FormatException($"instance limits line {lineNo} is malformed: '{line}'");
            }

            map[f[0]] = new InstanceLimits(f[0], enis, ips)
            {
                DefaultNetworkCardIndex = card,
                Hypervisor = f[4],
                IsBareMetal = f[5] == "true",
                NetworkCards = f.Length > 6 ? f[6].Split(';').Length : 1,
            };
        }

        return new InstanceLimitsTable(map);
    }

    /// <summary>Loads the CSV file.</summary>
    public static InstanceLimitsTable Load(string path)
    {
        using var reader = File.OpenText(path);
        return Parse(reader);
    }

    /// <summary>The limits of a type; an unknown type fails with a message naming it.</summary>
    public InstanceLimits Get(string instanceType) =>
        _byType.TryGetValue(instanceType, out var limits)
            ? limits
            : throw new KeyNotFoundException($"unknown instance type '{instanceType}' (not in the instance limits table).");

    public bool TryGet(string instanceType, out InstanceLimits limits) => _byType.TryGetValue(instanceType, out limits!);
}
