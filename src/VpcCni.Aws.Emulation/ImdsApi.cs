using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Emulation;

/// <summary>
/// IMDS (IMDSv2 only: a session token from <c>PUT /latest/api/token</c> is required on every GET) for the
/// instances of a <see cref="SimulatedVpc"/>, answering from each instance's possibly lagging IMDS view.
/// </summary>
internal sealed class ImdsApi(SimulatedVpc vpc)
{
    private const string TextPlain = "text/plain";
    private readonly ConcurrentDictionary<string, (string InstanceId, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    /// <summary>Answers one IMDS request for <paramref name="instanceId"/>; <paramref name="path"/> starts at /latest/.</summary>
    public EmulatorResponse Handle(string method, string path, Func<string, string?> header, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(header);
        if (path == "/latest/api/token")
        {
            if (method != "PUT")
            {
                return new EmulatorResponse(405, TextPlain, "Method Not Allowed");
            }

            if (!int.TryParse(header("X-aws-ec2-metadata-token-ttl-seconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var ttl) || ttl is < 1 or > 21600)
            {
                return new EmulatorResponse(400, TextPlain, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds must be 1-21600");
            }

            var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            _tokens[token] = (instanceId, vpc.TimeProvider.GetUtcNow().AddSeconds(ttl));
            return new EmulatorResponse(200, TextPlain, token)
            {
                Headers = new Dictionary<string, string> { ["X-aws-ec2-metadata-token-ttl-seconds"] = ttl.ToString(CultureInfo.InvariantCulture) },
            };
        }

        if (method != "GET")
        {
            return new EmulatorResponse(405, TextPlain, "Method Not Allowed");
        }

        var presented = header("X-aws-ec2-metadata-token");
        if (presented is null || !_tokens.TryGetValue(presented, out var session) || session.InstanceId != instanceId
            || session.Expires <= vpc.TimeProvider.GetUtcNow())
        {
            return new EmulatorResponse(401, TextPlain, "Unauthorized");
        }

        const string Prefix = "/latest/meta-data/";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal) && path != "/latest/meta-data")
        {
            return NotFound();
        }

        ImdsInstanceView view;
        try
        {
            view = vpc.GetImdsView(instanceId);
        }
        catch (SimulatedEc2Exception)
        {
            return NotFound();
        }

        if (vpc.Requests.IsImdsViewEmpty)
        {
            view = view with { Interfaces = [] };
        }

        var rest = path.Length > Prefix.Length ? path[Prefix.Length..] : string.Empty;
        var body = Lookup(view, rest);
        return body is null ? NotFound() : new EmulatorResponse(200, TextPlain, body);
    }

    private static EmulatorResponse NotFound() => new(404, TextPlain, "Not Found");

    private static string? Lookup(ImdsInstanceView view, string rest)
    {
        switch (rest)
        {
            case "":
                return view.IPv6 is null
                    ? "instance-id\ninstance-type\nlocal-ipv4\nmac\nnetwork/\nplacement/"
                    : "instance-id\ninstance-type\nipv6\nlocal-ipv4\nmac\nnetwork/\nplacement/";
            case "ipv6":
                // 404 when the primary ENI has no IPv6 address, as IMDS.
                return view.IPv6?.ToString();
            case "instance-id":
                return view.InstanceId;
            case "instance-type":
                return view.InstanceType;
            case "local-ipv4":
                return view.LocalIPv4.ToString();
            case "mac":
                return view.PrimaryMacAddress;
            case "placement/" or "placement":
                return "availability-zone\nregion";
            case "placement/availability-zone":
                return view.AvailabilityZone;
            case "placement/region":
                return view.Region;
            case "network/" or "network":
                return "interfaces/";
            case "network/interfaces/" or "network/interfaces":
                return "macs/";
            case "network/interfaces/macs/" or "network/interfaces/macs":
                return string.Join('\n', view.Interfaces.Select(i => i.MacAddress + "/"));
        }

        const string Macs = "network/interfaces/macs/";
        if (!rest.StartsWith(Macs, StringComparison.Ordinal))
        {
            return null;
        }

        var tail = rest[Macs.Length..];
        var slash = tail.IndexOf('/', StringComparison.Ordinal);
        var mac = slash < 0 ? tail : tail[..slash];
        var field = slash < 0 ? string.Empty : tail[(slash + 1)..];
        var eni = view.Interfaces.FirstOrDefault(i => i.MacAddress == mac);
        if (eni is null)
        {
            return null;
        }

        return field switch
        {
            "" => Fields(eni),
            "interface-id" => eni.InterfaceId,
            "device-number" => eni.DeviceNumber.ToString(CultureInfo.InvariantCulture),
            "network-card" => eni.NetworkCard.ToString(CultureInfo.InvariantCulture),
            "mac" => eni.MacAddress,
            "subnet-id" => eni.SubnetId,
            "subnet-ipv4-cidr-block" => eni.SubnetCidr.ToString(),
            "vpc-id" => eni.VpcId,
            "vpc-ipv4-cidr-block" => eni.VpcCidrs[0].ToString(),
            "vpc-ipv4-cidr-blocks" => string.Join('\n', eni.VpcCidrs),
            "security-group-ids" => string.Join('\n', eni.SecurityGroupIds),
            "local-ipv4s" => string.Join('\n', eni.LocalIPv4s),
            "ipv4-prefix" when eni.IPv4Prefixes.Count > 0 => string.Join('\n', eni.IPv4Prefixes),
            "ipv6s" when eni.IPv6s.Count > 0 => string.Join('\n', eni.IPv6s),
            "ipv6-prefix" when eni.IPv6Prefixes.Count > 0 => string.Join('\n', eni.IPv6Prefixes),
            "subnet-ipv6-cidr-blocks" when eni.SubnetIpv6Cidrs.Count > 0 => string.Join('\n', eni.SubnetIpv6Cidrs),
            "vpc-ipv6-cidr-blocks" when eni.VpcIpv6Cidrs.Count > 0 => string.Join('\n', eni.VpcIpv6Cidrs),
            _ => null,
        };
    }

    private static string Fields(ImdsInterfaceView eni)
    {
        var sb = new StringBuilder("device-number\ninterface-id\nlocal-ipv4s\nmac\nnetwork-card\nsecurity-group-ids\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id\nvpc-ipv4-cidr-block\nvpc-ipv4-cidr-blocks");
        if (eni.IPv4Prefixes.Count > 0)
        {
            sb.Append("\nipv4-prefix");
        }

        // Listed only when present: the IMDS client (as upstream) decides from this list whether to read them.
        if (eni.IPv6s.Count > 0)
        {
            sb.Append("\nipv6s");
        }

        if (eni.IPv6Prefixes.Count > 0)
        {
            sb.Append("\nipv6-prefix");
        }

        if (eni.SubnetIpv6Cidrs.Count > 0)
        {
            sb.Append("\nsubnet-ipv6-cidr-blocks");
        }

        if (eni.VpcIpv6Cidrs.Count > 0)
        {
            sb.Append("\nvpc-ipv6-cidr-blocks");
        }

        return sb.ToString();
    }
}
