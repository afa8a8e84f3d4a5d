using System.ComponentModel;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Host;

/// <summary>
/// Upstream's FORWARD reject of NEW connections to the other family's node-local pod range (the egress-cni
/// addresses), so nothing but the node itself can open connections to them: in IPv6 mode iptables for
/// <c>169.254.172.0/22</c>, in IPv4 mode with ENABLE_V6_EGRESS ip6tables for <c>fd00::ac:00/118</c>.
/// Inserted at FORWARD position 1 only when <c>-C</c> does not find it, so a restart never duplicates it.
/// </summary>
internal sealed class NodeLocalPodBlock(NetworkNamespace ns, NetfilterTools tools, ToolRunner runner)
{
    public const string IPv4Cidr = "169.254.172.0/22";

    public const string IPv6Cidr = "fd00::ac:00/118";

    public const string IPv4Comment = "Block Node Local Pod access via IPv4";

    public const string IPv6Comment = "Block Node Local Pod access via IPv6";

    /// <summary>The rule after <c>FORWARD</c>, as upstream builds it.</summary>
    public static string[] RuleSpec(bool ipv6) =>
        ["-d", ipv6 ? IPv6Cidr : IPv4Cidr, "-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", ipv6 ? IPv6Comment : IPv4Comment, "-j", "REJECT"];

    /// <summary>Installs the rule unless present; returns whether it was inserted. Failures throw with the rule named.</summary>
    public bool Ensure(bool ipv6)
    {
        var tool = ipv6 ? tools.Ip6tables : tools.Iptables;
        var spec = RuleSpec(ipv6);
        try
        {
            // -C exits 0 when the rule exists and 1 when it does not; anything else is a real failure.
            var (exit, _, error) = runner.Run(ns, tool, ["-w", "5", "-t", "filter", "-C", "FORWARD", .. spec]);
            if (exit == 0)
            {
                return false;
            }

            if (exit != 1)
            {
                throw new NetfilterException($"{tool} -C FORWARD", exit, error);
            }

            runner.RunChecked(ns, tool, ["-w", "5", "-t", "filter", "-I", "FORWARD", "1", .. spec]);
            return true;
        }
        catch (Exception ex) when (ex is NetfilterException or Win32Exception)
        {
            throw new InvalidOperationException(
                $"Could not install the FORWARD reject for node-local pod addresses {(ipv6 ? IPv6Cidr : IPv4Cidr)} ({(ipv6 ? IPv6Comment : IPv4Comment)}): {ex.Message}", ex);
        }
    }
}
