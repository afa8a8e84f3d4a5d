using VpcCni.Linux.Netlink.Protocol;

namespace VpcCni.Linux.Tests.Netlink;

/// <summary>For the fuzz tests: one message read as every rtnetlink type the client parses.</summary>
internal static class RtParsers
{
    /// <summary>Parses <paramref name="message"/> as a link, address, route, rule, neighbour and nsid; counts the successes.</summary>
    public static void ParseAsEveryType(ref int parsed, in NetlinkMessage message)
    {
        var header = message.Header;
        foreach (var type in new ushort[] { Rtm.NewLink, Rtm.NewAddr, Rtm.NewRoute, Rtm.NewRule, Rtm.NewNeigh, Rtm.NewNsId })
        {
            header.Type = type;
            var retyped = new NetlinkMessage(header, message.Payload);
            object? result = type switch
            {
                Rtm.NewLink => RtCodecs.ParseLink(retyped),
                Rtm.NewAddr => RtCodecs.ParseAddress(retyped),
                Rtm.NewRoute => RtCodecs.ParseRoute(retyped),
                Rtm.NewRule => RtCodecs.ParseRule(retyped),
                Rtm.NewNsId => RtCodecs.ParseNsId(retyped),
                _ => RtCodecs.ParseNeighbor(retyped),
            };
            if (result is not null)
            {
                parsed++;
            }
        }
    }
}
