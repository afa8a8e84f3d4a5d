using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Egress;

/// <summary>
/// The per-pod SNAT chain of upstream's egress-cni in the nat table of iptables (IPv4 egress) or ip6tables (IPv6
/// egress): <c>CNI-E4-…</c>/<c>CNI-E6-…</c> accepting multicast and SNATing the rest to the node address, jumped to
/// from POSTROUTING for the pod's egress address. Written with one atomic <c>iptables-restore --noflush</c>.
/// </summary>
internal sealed class EgressSnat(NetworkNamespace ns, NetfilterTools tools, ToolRunner runner)
{
    /// <summary>iptables' limit for chain names (XT_EXTENSION_MAXNAMELEN - 1 in the CNI plugins' helper).</summary>
    public const int MaxChainLength = 28;

    /// <summary>"CNI-" + prefix + hex SHA-512(network + containerID), cut to 28 characters (the CNI plugins' FormatChainName).</summary>
    public static string ChainName(string prefix, string network, string containerId)
    {
        // SHA-512 from the BCL: this plugin runs iptables anyway, so loading OpenSSL is not the cost that matters here.
        var hash = SHA512.HashData(Encoding.UTF8.GetBytes(network + containerId));
        return ("CNI-" + prefix + Convert.ToHexStringLower(hash))[..MaxChainLength];
    }

    /// <summary>The rule comment: <c>name: "&lt;network&gt;" id: "&lt;containerID&gt;"</c>.</summary>
    public static string Comment(string network, string containerId) => $"name: \"{network}\" id: \"{containerId}\"";

    /// <summary>The comment as iptables-save prints it and iptables-restore reads it (quotes escaped).</summary>
    private static string Quoted(string comment) => "\"" + comment.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Host(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? $"{address}/32" : $"{address}/128";

    /// <summary>The chain's rules and the POSTROUTING jump, in iptables-save form.</summary>
    public static (IReadOnlyList<string> ChainRules, string Jump) Rules(string chain, string comment, IPAddress source, IPAddress node, SnatRandomization randomization)
    {
        var multicast = node.AddressFamily == AddressFamily.InterNetwork ? "224.0.0.0/4" : "ff00::/8";
        var random = randomization switch
        {
            SnatRandomization.RandomFully => " --random-fully",
            SnatRandomization.Random => " --random",
            _ => "",
        };
        var quoted = Quoted(comment);
        return (
            [
                $"-A {chain} -d {multicast} -m comment --comment {quoted} -j ACCEPT",
                $"-A {chain} -m comment --comment {quoted} -j SNAT --to-source {node}{random}",
            ],
            $"-A POSTROUTING -s {Host(source)} -m comment --comment {quoted} -j {chain}");
    }

    /// <summary>Creates (or rewrites) the chain and adds the jump unless it is there already.</summary>
    public void Add(bool ipv6, string chain, string comment, IPAddress source, IPAddress node, SnatRandomization randomization)
    {
        var (chainRules, jump) = Rules(chain, comment, source, node, randomization);
        var existingJumps = Jumps(ipv6, chain);
        var text = new StringBuilder("*nat\n");
        text.Append(':').Append(chain).Append(" - [0:0]\n"); // declaring a chain in --noflush mode flushes it
        foreach (var rule in chainRules)
        {
            text.Append(rule).Append('\n');
        }

        if (!existingJumps.Contains(jump, StringComparer.Ordinal))
        {
            text.Append(jump).Append('\n');
        }

        text.Append("COMMIT\n");
        runner.RunChecked(ns, ipv6 ? tools.Ip6tablesRestore : tools.IptablesRestore, ["-w", "5", "--noflush"], text.ToString());
    }

    /// <summary>Removes every POSTROUTING jump to the chain, then the chain; nothing to remove is not an error.</summary>
    public bool Remove(bool ipv6, string chain)
    {
        var jumps = Jumps(ipv6, chain);
        var chainExists = ListChain(ipv6, chain) is not null;
        if (jumps.Count == 0 && !chainExists)
        {
            return false;
        }

        var text = new StringBuilder("*nat\n");
        foreach (var jump in jumps)
        {
            text.Append("-D ").Append(jump.AsSpan(3)).Append('\n');
        }

        if (chainExists)
        {
            text.Append("-F ").Append(chain).Append('\n').Append("-X ").Append(chain).Append('\n');
        }

        text.Append("COMMIT\n");
        runner.RunChecked(ns, ipv6 ? tools.Ip6tablesRestore : tools.IptablesRestore, ["-w", "5", "--noflush"], text.ToString());
        return true;
    }

    /// <summary>What differs from what <see cref="Add"/> makes (empty when all is in place).</summary>
    public IReadOnlyList<string> Check(bool ipv6, string chain, string comment, IPAddress source, IPAddress node, SnatRandomization randomization)
    {
        var differences = new List<string>();
        var (chainRules, jump) = Rules(chain, comment, source, node, randomization);
        var live = ListChain(ipv6, chain);
        if (live is null)
        {
            differences.Add($"nat chain {chain} is missing");
        }
        else
        {
            differences.AddRange(chainRules.Where(rule => !live.Contains(rule, StringComparer.Ordinal)).Select(rule => $"nat rule missing: {rule}"));
        }

        if (!Jumps(ipv6, chain).Contains(jump, StringComparer.Ordinal))
        {
            differences.Add($"nat rule missing: {jump}");
        }

        return differences;
    }

    /// <summary>POSTROUTING rules that jump to <paramref name="chain"/>, as `iptables -S` prints them.</summary>
    private List<string> Jumps(bool ipv6, string chain)
    {
        var listing = runner.RunChecked(ns, ipv6 ? tools.Ip6tables : tools.Iptables, ["-w", "5", "-t", "nat", "-S", "POSTROUTING"]);
        return [.. Lines(listing).Where(line => line.EndsWith(" -j " + chain, StringComparison.Ordinal))];
    }

    /// <summary>The chain's rules, or null when the chain does not exist.</summary>
    private List<string>? ListChain(bool ipv6, string chain)
    {
        var (exit, output, _) = runner.Run(ns, ipv6 ? tools.Ip6tables : tools.Iptables, ["-w", "5", "-t", "nat", "-S", chain]);
        return exit == 0 ? [.. Lines(output)] : null;
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
