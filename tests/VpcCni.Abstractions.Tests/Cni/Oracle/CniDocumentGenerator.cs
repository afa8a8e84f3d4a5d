using System.Globalization;
using System.Net;
using System.Text;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni.Oracle;

/// <summary>
/// Seeded random CNI documents for the differential tests: mostly well-typed results (every shape), errors, VERSION
/// results and configurations, with wrong types, nulls, unsupported versions, another shape's keys, repeated and
/// escaped keys and awkward strings and numbers mixed in; byte-level mutations of them; and random models to write.
/// </summary>
internal sealed class CniDocumentGenerator(int seed)
{
    private static readonly string[] Versions = [.. CniVersion.Supported, "9.0.0", "1.0", "", "01.0.0", "x"];

    private static readonly string[] Strings =
    [
        "eth0", "", "veth1", "/run/netns/p", "aa:bb:cc:dd:ee:ff", "a+b<c>&'`\"d", "caf\u00e9", "\u65e5\u672c", "\U0001F600", "tab\there",
        "new\nline", "\u0001\u001f\u007f", "\u2028\u2029", "back\\slash", "sl/ash", "10.0.0.1", "::1", "4", "6",
    ];

    // JSON string literals as they may appear on the wire (escapes included).
    private static readonly string[] StringLiterals =
    [
        "\"eth0\"", "\"\"", "\"\\u0065th0\"", "\"caf\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\\/b\"", "\"\\n\\t\\\\\"",
        "\"caf\u00e9\"", "\"<&>+\"", "\"0.4.0\"", "\"1.1.0\"", "\"10.1.2.3/24\"", "\"2001:db8::1/64\"", "\"10.1.2.1\"", "\"4\"", "\"6\"",
    ];

    private static readonly string[] Numbers =
    [
        "0", "1", "-1", "2", "7", "9001", "-0", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "1.0", "1e2", "1E+2", "0.5", "-1.5", "12345678901234567890", "1e400",
    ];

    private static readonly string[] Addresses =
    [
        "10.0.0.5/32", "10.1.2.3/24", "192.168.0.1/16", "0.0.0.0/0", "2001:db8::5/128", "fe80::1/64", "::/0", "10.0.0.5", "10.0.0.5/33",
        "2001:db8::1/129", "bogus", "", "10.0.0.5/-1", " 10.0.0.5/32",
    ];

    private static readonly string[] Gateways = ["10.0.0.1", "169.254.1.1", "2001:db8::1", "fe80::1", "", "10.0.0.1/24", "x", "::"];

    private static readonly string[] UnknownKeys = ["foo", "$type", "$id", "$ref", "$values", "extra", "CNIVERSION", "Ips", "IP4"];

    private readonly Random _random = new(seed);

    public static string Escape(string text)
    {
        var s = new StringBuilder("\"");
        foreach (var c in text)
        {
            s.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return s.Append('"').ToString();
    }

    public string Result(int depth = 0)
    {
        var fields = new List<(string, string)>();
        var legacy = Chance(0.35);
        if (!Chance(0.1))
        {
            fields.Add(("cniVersion", Typed(() => Escape(legacy ? Pick([CniVersion.V0_1_0, CniVersion.V0_2_0]) : Pick(Versions)))));
        }

        if (legacy || Chance(0.1))
        {
            Maybe(fields, "ip4", () => Typed(() => LegacyIP(v4: true)));
            Maybe(fields, "ip6", () => Typed(() => LegacyIP(v4: false)));
        }

        if (!legacy || Chance(0.1))
        {
            Maybe(fields, "interfaces", () => Typed(() => Array(Interface)));
            Maybe(fields, "ips", () => Typed(() => Array(IPConfig)));
            Maybe(fields, "routes", () => Typed(() => Array(Route)));
        }

        Maybe(fields, "dns", () => Typed(Dns));
        return Object(fields, depth);
    }

    public string Error()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "cniVersion", () => Typed(() => Escape(Pick(Versions))));
        Maybe(fields, "code", () => Chance(0.8) ? Pick(Numbers) : AnyValue(0));
        Maybe(fields, "msg", () => Typed(StringValue));
        Maybe(fields, "details", () => Typed(StringValue));
        return Object(fields, 0);
    }

    public string VersionResult()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "cniVersion", () => Typed(() => Escape(Pick(Versions))));
        Maybe(fields, "supportedVersions", () => Typed(() => Array(() => Chance(0.9) ? Escape(Pick(Versions)) : AnyValue(2))));
        return Object(fields, 0);
    }

    public string Config()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "cniVersion", () => Typed(() => Escape(Pick(Versions))), 0.9);
        Maybe(fields, "cniVersions", () => Typed(() => Array(() => Escape(Pick(Versions)))), 0.2);
        Maybe(fields, "name", () => Typed(() => Escape(Pick(["net", "aws-cni", "-bad", "", "a.b_c-d", ".."]))), 0.95);
        Maybe(fields, "type", () => Typed(() => Escape(Pick(["vpc-cni", "recorder", "", "a/b", "x\\y"]))), 0.95);
        Maybe(fields, "ipam", () => Typed(() => Object([("type", Typed(() => Escape("host-local")))], 1)), 0.3);
        Maybe(fields, "dns", () => Typed(Dns), 0.4);
        Maybe(fields, "args", () => Typed(() => AnyObject(1)), 0.2);
        Maybe(fields, "runtimeConfig", () => Typed(() => AnyObject(1)), 0.3);
        Maybe(fields, "capabilities", () => Typed(() => Object([("portMappings", Typed(() => Chance(0.5) ? "true" : "false")), ("io.kubernetes.cri.pod-annotations", "true")], 1)), 0.3);
        Maybe(fields, "prevResult", () => Chance(0.1) ? "{}" : Typed(() => Result(1)), 0.6);
        Maybe(fields, Chance(0.5) ? NetworkConfig.ValidAttachmentsKey : NetworkConfig.LegacyAttachmentsKey,
            () => Typed(() => Array(() => Object([("containerID", Typed(() => Escape("c1"))), ("ifname", Typed(() => Escape("eth0")))], 2))), 0.2);
        Maybe(fields, "disableCheck", () => Typed(() => "true"), 0.1);
        Maybe(fields, "disableGC", () => Typed(() => "false"), 0.1);
        return Object(fields, 0);
    }

    /// <summary>One to four byte-level changes: truncation, deletion, insertion (invalid UTF-8 too), replacement, a BOM, trailing data.</summary>
    public byte[] Mutate(string document)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(document));
        var mutations = _random.Next(1, 5);
        const string Alphabet = "{}[]\":,0123456789.-+eE/ \\abnulltrue\u00e9";
        for (var m = 0; m < mutations; m++)
        {
            var at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
            switch (_random.Next(9))
            {
                case 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(_random.Next(1, 6), bytes.Count - at));
                    break;
                case 2:
                case 3:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Alphabet[_random.Next(Alphabet.Length)].ToString()));
                    break;
                case 4:
                    if (at < bytes.Count)
                    {
                        bytes[at] = (byte)Alphabet[_random.Next(Alphabet.Length - 1)];
                    }

                    break;
                case 5:
                    bytes.InsertRange(at, Pick<byte[]>([[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x80]]));
                    break;
                case 6:
                    bytes.InsertRange(0, Pick<byte[]>([[0xEF, 0xBB, 0xBF], [(byte)' '], [(byte)'[']]));
                    break;
                case 7:
                    bytes.AddRange(Encoding.UTF8.GetBytes(Pick([" ", "x", " {}", ",", "]", "null", "\n"])));
                    break;
                default:
                    // Another document spliced in (syntactically plausible, semantically odd).
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Pick([Result(2), "null", "{}", "[]", StringLiterals[_random.Next(StringLiterals.Length)]])));
                    break;
            }
        }

        return [.. bytes];
    }

    public CniResult ResultModel()
    {
        var interfaces = Enumerable.Range(0, _random.Next(0, 3)).Select(_ => new CniInterface(PickString()!)
        {
            Mac = OptionalString(), Sandbox = OptionalString(), Mtu = OptionalInt(), SocketPath = OptionalString(), PciId = OptionalString(),
        }).ToList();
        var ips = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => new CniIPConfig(AddressModel())
        {
            Gateway = Chance(0.5) ? IPAddress.Parse(Pick(["10.0.0.1", "2001:db8::1"])) : null,
            Interface = OptionalInt(),
        }).ToList();
        var routes = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => new CniRoute(AddressModel())
        {
            Gateway = Chance(0.5) ? IPAddress.Parse(Pick(["10.0.0.1", "2001:db8::1"])) : null,
            Mtu = OptionalInt(), AdvMss = OptionalInt(), Priority = OptionalInt(), Table = OptionalInt(), Scope = OptionalInt(),
        }).ToList();
        return new CniResult
        {
            CniVersion = Chance(0.95) ? Pick([.. CniVersion.Supported]) : Pick(["9.0.0", "x"]),
            Interfaces = interfaces,
            Ips = ips,
            Routes = routes,
            Dns = Chance(0.5) ? DnsModel() : null,
        };
    }

    public CniError ErrorModel() => new(
        Chance(0.8) ? Pick(Versions) : null,
        Pick([0, 1, 6, 7, 11, 999, -1, int.MaxValue, int.MinValue]),
        PickString() ?? "",
        OptionalString());

    public CniVersionResult VersionModel() => new(Pick(Versions), [.. Enumerable.Range(0, _random.Next(0, 8)).Select(_ => Pick(Versions))]);

    private CniDns DnsModel() => new()
    {
        Nameservers = OptionalList(), Domain = OptionalString(), Search = OptionalList(), Options = OptionalList(),
    };

    private List<string>? OptionalList() => Chance(0.3) ? null : [.. Enumerable.Range(0, _random.Next(0, 3)).Select(_ => Chance(0.1) ? null! : PickString()!)];

    private IPAddressAndPrefix AddressModel() => IPAddressAndPrefix.Parse(Pick(["10.0.0.5/32", "10.1.2.3/24", "0.0.0.0/0", "2001:db8::5/128", "::/0", "fe80::1/64"]));

    private string? OptionalString() => Chance(0.4) ? null : PickString();

    // Lone surrogates are invalid UTF-16: the writer's handling of them is compared too.
    private string? PickString() => Chance(0.03) ? Pick(["\ud800", "x\udc00"]) : Pick(Strings);

    private int? OptionalInt() => Chance(0.5) ? null : Pick([0, 1, -1, 1400, 9001, int.MaxValue, int.MinValue]);

    private string LegacyIP(bool v4)
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "ip", () => Typed(() => Escape(Chance(0.8) ? (v4 ? Pick(["10.0.0.5/32", "10.1.2.3/24"]) : Pick(["2001:db8::5/128", "fe80::1/64"])) : Pick(Addresses))), 0.95);
        Maybe(fields, "gateway", () => Typed(() => Escape(Pick(Gateways))));
        Maybe(fields, "routes", () => Typed(() => Array(() => Object(
            [("dst", Typed(() => Escape(Pick(Addresses)))), ("gw", Typed(() => Escape(Pick(Gateways))))], 2))));
        return Object(fields, 1);
    }

    private string Interface()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "name", () => Typed(() => Escape(Pick(["eth0", "veth1", ""]))), 0.9);
        Maybe(fields, "mac", () => Typed(StringValue));
        Maybe(fields, "mtu", () => Typed(() => Pick(Numbers)));
        Maybe(fields, "sandbox", () => Typed(StringValue));
        Maybe(fields, "socketPath", () => Typed(StringValue));
        Maybe(fields, "pciID", () => Typed(StringValue));
        return Object(fields, 2);
    }

    private string IPConfig()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "version", () => Typed(() => Escape(Pick(["4", "6", "5", ""]))));
        Maybe(fields, "interface", () => Typed(() => Pick(["0", "1", "2", "-1", "1.0", "2147483648"])));
        Maybe(fields, "address", () => Typed(() => Escape(Pick(Addresses))), 0.9);
        Maybe(fields, "gateway", () => Typed(() => Escape(Pick(Gateways))));
        return Object(fields, 2);
    }

    private string Route()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "dst", () => Typed(() => Escape(Pick(Addresses))), 0.9);
        Maybe(fields, "gw", () => Typed(() => Escape(Pick(Gateways))));
        foreach (var key in (string[])["mtu", "advmss", "priority", "table", "scope"])
        {
            Maybe(fields, key, () => Typed(() => Pick(Numbers)), 0.3);
        }

        return Object(fields, 2);
    }

    private string Dns()
    {
        var fields = new List<(string, string)>();
        Maybe(fields, "nameservers", () => Typed(() => Array(() => Typed(StringValue, 0.9))));
        Maybe(fields, "domain", () => Typed(StringValue));
        Maybe(fields, "search", () => Typed(() => Array(() => Typed(StringValue, 0.9))));
        Maybe(fields, "options", () => Typed(() => Array(() => Typed(StringValue, 0.9))));
        return Object(fields, 2);
    }

    private string StringValue() => Chance(0.5) ? Escape(Pick(Strings)) : Pick(StringLiterals);

    /// <summary>Mostly the well-typed value; otherwise null or any other JSON value.</summary>
    private string Typed(Func<string> value, double probability = 0.85) =>
        Chance(probability) ? value() : Chance(0.4) ? "null" : AnyValue(2);

    private string AnyValue(int depth) => _random.Next(depth > 3 ? 5 : 7) switch
    {
        0 => "null",
        1 => Chance(0.5) ? "true" : "false",
        2 or 3 => Pick(Numbers),
        4 => StringValue(),
        5 => Array(() => AnyValue(depth + 1)),
        _ => AnyObject(depth + 1),
    };

    private string AnyObject(int depth)
    {
        var fields = new List<(string, string)>();
        for (var i = _random.Next(0, 3); i > 0; i--)
        {
            fields.Add((Pick(["a", "b", "io.kubernetes.cri.pod-annotations", "portMappings"]), AnyValue(depth + 1)));
        }

        return Object(fields, depth);
    }

    private string Array(Func<string> item)
    {
        var items = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Chance(0.05) ? "null" : item());
        return "[" + string.Join(",", items) + "]";
    }

    /// <summary>Shuffled keys, sometimes a key twice, sometimes an escaped or unknown key, sometimes whitespace.</summary>
    private string Object(List<(string Key, string Value)> fields, int depth)
    {
        var all = new List<(string Key, string Value)>(fields);
        if (Chance(0.15) && all.Count > 0)
        {
            var (key, _) = all[_random.Next(all.Count)];
            all.Add((key, depth < 3 && Chance(0.5) ? AnyValue(depth + 1) : "null"));
        }

        if (Chance(0.2))
        {
            all.Add((Pick(UnknownKeys), AnyValue(depth + 1)));
        }

        all = [.. all.OrderBy(_ => _random.Next())];
        var separator = Chance(0.1) ? ", " : ",";
        return "{" + string.Join(separator, all.Select(f => Key(f.Key) + ":" + f.Value)) + "}";
    }

    private string Key(string key)
    {
        if (key.Length > 0 && Chance(0.05))
        {
            // The same name with its first character escaped: still the same key.
            return "\"\\u" + ((int)key[0]).ToString("x4", CultureInfo.InvariantCulture) + Escape(key)[2..];
        }

        return Escape(key);
    }

    private void Maybe(List<(string, string)> fields, string key, Func<string> value, double probability = 0.6)
    {
        if (Chance(probability))
        {
            fields.Add((key, value()));
        }
    }

    private bool Chance(double probability) => _random.NextDouble() < probability;

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];
}
