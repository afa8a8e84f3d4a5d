using System.Net.Sockets;
using VpcCni.Linux.Netlink;

namespace VpcCni.Linux.Tests.Support;

/// <summary>
/// A comparable dump of a namespace's links, addresses, routes (all tables), rules and permanent neighbours.
/// IPv6 link-local addresses and their routes are left out: the kernel adds them by itself once duplicate address
/// detection ends, which on a loaded machine can fall between a "before" and an "after" capture.
/// </summary>
internal static class StateSnapshot
{
    public static List<string> Capture(RtNetlinkClient client, TestNamespace? forChains = null)
    {
        var lines = new List<string>();
        lines.AddRange(client.GetLinks().Select(l => $"link {l.Index} {l.Name} {l.Kind} mtu {l.Mtu} {l.HardwareAddress} up={l.IsUp}"));
        lines.AddRange(client.GetAddresses().Where(a => !a.Address.IsIPv6LinkLocal).Select(a => $"addr {a}"));
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            lines.AddRange(client.GetRoutes(new RouteFilter { Family = family }).Where(r => !r.Destination.BaseAddress.IsIPv6LinkLocal).Select(r => $"route {r} proto {r.Protocol} type {r.Type}"));
            lines.AddRange(client.GetRules(family).Select(r => $"rule {r}"));
            lines.AddRange(client.GetNeighbors(family).Where(n => (n.State & NeighborState.Permanent) != 0).Select(n => $"neigh {n.Address} {n.LinkIndex} {n.LinkLayerAddress}"));
        }

        if (forChains is not null)
        {
            lines.AddRange(ChainLines(forChains));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>iptables-save (nat, mangle) and the nft ruleset, without comments/counters that change on their own.</summary>
    public static IEnumerable<string> ChainLines(TestNamespace ns)
    {
        var text = ns.Exec("iptables-save", "-t", "nat") + ns.Exec("iptables-save", "-t", "mangle") + ns.Exec("nft", "list", "ruleset");
        return text.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\[\d+:\d+\]|counter packets \d+ bytes \d+", ""))
            .Select(l => "chain " + l.Trim());
    }
}
