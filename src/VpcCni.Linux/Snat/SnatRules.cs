using System.Globalization;
using System.Net;
using System.Text;

namespace VpcCni.Linux.Snat;

/// <summary>The rules VpcCni owns in one iptables table: built-in chain rules plus whole user chains.</summary>
internal sealed record OwnedIptablesTable(string Table, IReadOnlyList<string> BuiltinRules, IReadOnlyDictionary<string, IReadOnlyList<string>> Chains)
{
    private static readonly string[] ChainOrder = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

    /// <summary>iptables-save groups rules by chain; order only matters within a chain.</summary>
    private static IEnumerable<string> ByChain(IEnumerable<string> rules) =>
        rules.OrderBy(r => Array.IndexOf(ChainOrder, r[3..].Split(' ')[0]));

    public bool SameAs(OwnedIptablesTable other) =>
        ByChain(BuiltinRules).SequenceEqual(ByChain(other.BuiltinRules)) &&
        Chains.Count == other.Chains.Count &&
        Chains.All(c => other.Chains.TryGetValue(c.Key, out var rules) && rules.SequenceEqual(c.Value));
}

/// <summary>
/// Pure renderers for upstream's SNAT/connmark rules (upstream §4.1), in the canonical form iptables-save
/// prints them, so that live state can be compared line by line.
/// </summary>
internal static class SnatRules
{
    public const string SnatChain = "AWS-SNAT-CHAIN-0";
    public const string ConnmarkChain = "AWS-CONNMARK-CHAIN-0";
    public const string NftTable = "aws-cni";

    private static readonly string[] OwnedChainPrefixes = ["AWS-SNAT-CHAIN", "AWS-CONNMARK-CHAIN"];

    public static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Cidr(IPNetwork network) => $"{network.BaseAddress}/{network.PrefixLength}";

    public static OwnedIptablesTable DesiredNat(SnatConfiguration config, ConnmarkBackend backend)
    {
        var builtin = new List<string>();
        var chains = new Dictionary<string, IReadOnlyList<string>>();
        if (config.ExternalSnat)
        {
            return new OwnedIptablesTable("nat", builtin, chains);
        }

        var mark = Hex(config.ConnectionMark);
        // Upstream inserts each RETURN at position 1, so the live order is the reverse of VPC CIDRs then exclusions.
        var exempt = config.VpcCidrs.Select(c => (Cidr: c, Exclusion: false))
            .Concat(config.ExcludedCidrs.Select(c => (Cidr: c, Exclusion: true)))
            .Reverse().ToList();

        var snat = new List<string>();
        foreach (var (cidr, exclusion) in exempt)
        {
            var destination = cidr.PrefixLength == 0 ? "" : $" -d {Cidr(cidr)}";
            snat.Add($"-A {SnatChain}{destination} -m comment --comment \"{(exclusion ? "AWS SNAT CHAIN EXCLUSION" : "AWS SNAT CHAIN")}\" -j RETURN");
        }

        var random = config.Randomization switch
        {
            SnatRandomization.RandomFully => " --random-fully",
            SnatRandomization.Random => " --random",
            _ => "",
        };
        snat.Add($"-A {SnatChain} ! -o vlan+ -m comment --comment \"AWS, SNAT\" -m addrtype ! --dst-type LOCAL -j SNAT --to-source {config.PrimaryAddress}{random}");
        chains[SnatChain] = snat;
        builtin.Add($"-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j {SnatChain}");

        if (backend == ConnmarkBackend.Iptables)
        {
            var connmark = exempt.Select(e => $"-A {ConnmarkChain}{(e.Cidr.PrefixLength == 0 ? "" : $" -d {Cidr(e.Cidr)}")} -m comment --comment \"AWS CONNMARK CHAIN\" -j RETURN").ToList();
            connmark.Add($"-A {ConnmarkChain} -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --set-xmark {mark}/{mark}");
            chains[ConnmarkChain] = connmark;
            builtin.Add($"-A PREROUTING -i {config.VethPrefix}+ -m comment --comment \"AWS, outbound connections\" -j {ConnmarkChain}");
            builtin.Add($"-A PREROUTING -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --restore-mark --nfmask {mark} --ctmask {mark}");
        }

        return new OwnedIptablesTable("nat", builtin, chains);
    }

    public static OwnedIptablesTable DesiredMangle(SnatConfiguration config)
    {
        var mark = Hex(config.ConnectionMark);
        var builtin = new List<string>();
        if (config.NodePortSupport)
        {
            builtin.Add($"-A PREROUTING -i {config.PrimaryInterface} -m comment --comment \"AWS, primary ENI\" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark {mark}/{mark}");
        }

        if (config.NodePortSupport || !config.ExternalSnat)
        {
            builtin.Add($"-A PREROUTING -i {config.VethPrefix}+ -m comment --comment \"AWS, primary ENI\" -j CONNMARK --restore-mark --nfmask {mark} --ctmask {mark}");
        }

        if (config.NodePortSupport)
        {
            builtin.Add($"-A PREROUTING -i vlan+ -m comment --comment \"AWS, primary ENI\" -j CONNMARK --restore-mark --nfmask {mark} --ctmask {mark}");
        }

        return new OwnedIptablesTable("mangle", builtin, new Dictionary<string, IReadOnlyList<string>>());
    }

    /// <summary>Extracts the owned part of one table from iptables-save output.</summary>
    public static OwnedIptablesTable ParseOwned(string table, string save)
    {
        var builtin = new List<string>();
        var chains = new Dictionary<string, List<string>>();
        var inTable = false;
        foreach (var raw in save.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.StartsWith('*'))
            {
                inTable = line == "*" + table;
                continue;
            }

            if (!inTable)
            {
                continue;
            }

            if (line.StartsWith(':'))
            {
                var name = line[1..].Split(' ')[0];
                if (IsOwnedChain(name))
                {
                    chains.TryAdd(name, []);
                }

                continue;
            }

            if (!line.StartsWith("-A ", StringComparison.Ordinal))
            {
                continue;
            }

            var chain = line[3..].Split(' ')[0];
            if (IsOwnedChain(chain))
            {
                chains.TryAdd(chain, []);
                chains[chain].Add(line);
            }
            else if (line.Contains("--comment \"AWS", StringComparison.Ordinal))
            {
                builtin.Add(line);
            }
        }

        return new OwnedIptablesTable(table, builtin, chains.ToDictionary(c => c.Key, c => (IReadOnlyList<string>)c.Value));
    }

    private static bool IsOwnedChain(string name) => OwnedChainPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>
    /// One iptables-restore --noflush transaction turning <paramref name="current"/> into <paramref name="desired"/>:
    /// owned built-in rules are deleted and re-appended, desired chains are declared (which flushes them),
    /// stale owned chains are flushed and removed. Rules of other software are never touched.
    /// </summary>
    public static string BuildRestore(OwnedIptablesTable current, OwnedIptablesTable desired)
    {
        var text = new StringBuilder();
        text.Append('*').Append(desired.Table).Append('\n');
        foreach (var chain in desired.Chains.Keys)
        {
            text.Append(':').Append(chain).Append(" - [0:0]\n");
        }

        foreach (var rule in current.BuiltinRules)
        {
            text.Append("-D ").Append(rule[3..]).Append('\n');
        }

        foreach (var stale in current.Chains.Keys.Where(c => !desired.Chains.ContainsKey(c)))
        {
            text.Append("-F ").Append(stale).Append('\n');
        }

        foreach (var stale in current.Chains.Keys.Where(c => !desired.Chains.ContainsKey(c)))
        {
            text.Append("-X ").Append(stale).Append('\n');
        }

        foreach (var chain in desired.Chains)
        {
            foreach (var rule in chain.Value)
            {
                text.Append(rule).Append('\n');
            }
        }

        foreach (var rule in desired.BuiltinRules)
        {
            text.Append(rule).Append('\n');
        }

        text.Append("COMMIT\n");
        return text.ToString();
    }

    /// <summary>The nftables connmark table (upstream nftables_connmark.go), replaced atomically by one `nft -f`.</summary>
    public static string RenderNftables(SnatConfiguration config)
    {
        var mark = Hex(config.ConnectionMark);
        var text = new StringBuilder();
        text.Append("add table ip ").Append(NftTable).Append('\n');
        text.Append("delete table ip ").Append(NftTable).Append('\n');
        text.Append("table ip ").Append(NftTable).Append(" {\n");
        text.Append("\tchain nat-prerouting {\n");
        text.Append("\t\ttype nat hook prerouting priority -90; policy accept;\n");
        text.Append("\t\tfib daddr type local return\n");
        text.Append("\t\tiifname \"").Append(config.VethPrefix).Append("*\" counter jump snat-mark\n");
        text.Append("\t\tmeta mark set ct mark & ").Append(mark).Append('\n');
        text.Append("\t}\n");
        text.Append("\tchain snat-mark {\n");
        foreach (var cidr in config.VpcCidrs.Concat(config.ExcludedCidrs))
        {
            text.Append(cidr.PrefixLength == 0 ? "\t\tcounter return\n" : $"\t\tip daddr {Cidr(cidr)} counter return\n");
        }

        text.Append("\t\tct mark set ct mark | ").Append(mark).Append('\n');
        text.Append("\t}\n}\n");
        return text.ToString();
    }

    /// <summary>Normalises `nft list table` output for comparison (counters change on their own).</summary>
    public static string NormalizeNftListing(string listing) =>
        System.Text.RegularExpressions.Regex.Replace(listing, @"counter packets \d+ bytes \d+", "counter").Trim();
}
