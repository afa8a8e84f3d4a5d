using System.Net.Sockets;

namespace VpcCni.Cni;

/// <summary>The spec's (and libcni's) rules for converting results between versions.</summary>
internal static class CniResultConverter
{
    public static CniResult Convert(CniResult result, string targetVersion)
    {
        var targetShape = CniVersion.ShapeOf(targetVersion);
        return targetShape switch
        {
            ResultShape.Legacy => ToLegacy(result, targetVersion),
            ResultShape.Versioned => ToVersioned(result, targetVersion),
            _ => result with { CniVersion = targetVersion },
        };
    }

    /// <summary>0.3.x/0.4.0: interfaces keep only name, mac and sandbox; routes are copied whole (as libcni does).</summary>
    private static CniResult ToVersioned(CniResult result, string targetVersion) => result with
    {
        CniVersion = targetVersion,
        Interfaces = [.. result.Interfaces.Select(i => new CniInterface(i.Name) { Mac = i.Mac, Sandbox = i.Sandbox })],
    };

    /// <summary>
    /// 0.1.0/0.2.0: the first IPv4 and the first IPv6 address survive; each route goes with the address of its
    /// family if there is one, keeping only dst and gw; interfaces are dropped. No address at all is an error.
    /// </summary>
    private static CniResult ToLegacy(CniResult result, string targetVersion)
    {
        var ip4 = result.Ips.FirstOrDefault(ip => ip.Address.Family == AddressFamily.InterNetwork);
        var ip6 = result.Ips.FirstOrDefault(ip => ip.Address.Family == AddressFamily.InterNetworkV6);
        if (ip4 is null && ip6 is null)
        {
            throw new CniException(CniErrorCode.IncompatibleVersion, "cannot convert: no valid IP addresses", $"a {targetVersion} result needs at least one IP address");
        }

        var ips = new List<CniIPConfig>(2);
        if (ip4 is not null)
        {
            ips.Add(new CniIPConfig(ip4.Address) { Gateway = ip4.Gateway });
        }

        if (ip6 is not null)
        {
            ips.Add(new CniIPConfig(ip6.Address) { Gateway = ip6.Gateway });
        }

        var routes = new List<CniRoute>(result.Routes.Count);
        foreach (var route in result.Routes)
        {
            var keep = route.Destination.Family == AddressFamily.InterNetwork ? ip4 is not null : ip6 is not null;
            if (keep)
            {
                routes.Add(new CniRoute(route.Destination) { Gateway = route.Gateway });
            }
        }

        // Legacy JSON nests routes under ip4 then ip6; order them that way (stable) so a round trip is lossless.
        List<CniRoute> ordered = [.. routes.Where(r => r.Destination.IsIPv4), .. routes.Where(r => !r.Destination.IsIPv4)];
        return new CniResult { CniVersion = targetVersion, Ips = ips, Routes = ordered, Dns = result.Dns };
    }
}
