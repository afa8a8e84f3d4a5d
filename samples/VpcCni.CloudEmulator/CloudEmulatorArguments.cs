using System.Globalization;

namespace VpcCni.CloudEmulator;

/// <summary>vpc-cni-cloud's command line. <see cref="Parse"/> never throws: a bad value is an error naming its flag.</summary>
internal sealed record CloudEmulatorArguments
{
    public const string Usage =
        "usage: vpc-cni-cloud --listen 127.0.0.1:PORT [--instance-type T] [--nodes N] [--subnet-size PREFIXLEN] [--kube-listen 127.0.0.1:PORT]\n" +
        "                     [--ec2-latency MS|DURATION] [--fault-rate 0..1] [--throttle-rate 0..1]";

    /// <summary>The longest injected latency: beyond it every SDK call would time out anyway.</summary>
    public static readonly TimeSpan MaxLatency = TimeSpan.FromMinutes(10);

    public string Listen { get; init; } = "127.0.0.1:8181";
    public string InstanceType { get; init; } = "m5.large";
    public string? KubeListen { get; init; }
    public int Nodes { get; init; } = 1;
    public int SubnetSize { get; init; } = 20;

    /// <summary>Added to every EC2 call (RequestGate.DefaultLatency).</summary>
    public TimeSpan Ec2Latency { get; init; }

    /// <summary>Fraction of EC2 calls answered 500 InternalError.</summary>
    public double FaultRate { get; init; }

    /// <summary>Fraction of EC2 calls answered 503 RequestLimitExceeded.</summary>
    public double ThrottleRate { get; init; }

    /// <summary>The arguments, or null and an error message naming the flag at fault.</summary>
    public static CloudEmulatorArguments? Parse(IReadOnlyList<string> args, out string? error)
    {
        var result = new CloudEmulatorArguments();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            if (flag is not ("--listen" or "--instance-type" or "--kube-listen" or "--nodes" or "--subnet-size"
                or "--ec2-latency" or "--fault-rate" or "--throttle-rate"))
            {
                error = $"unknown argument {flag}\n{Usage}";
                return null;
            }

            if (i + 1 >= args.Count)
            {
                error = $"{flag} needs a value\n{Usage}";
                return null;
            }

            var value = args[++i];
            switch (flag)
            {
                case "--listen":
                    result = result with { Listen = value };
                    break;
                case "--instance-type":
                    result = result with { InstanceType = value };
                    break;
                case "--kube-listen":
                    result = result with { KubeListen = value };
                    break;
                case "--nodes" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 64:
                    result = result with { Nodes = n };
                    break;
                case "--nodes":
                    error = $"--nodes must be 1-64, not '{value}'";
                    return null;
                case "--subnet-size" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 16 and <= 28:
                    result = result with { SubnetSize = s };
                    break;
                case "--subnet-size":
                    error = $"--subnet-size is a prefix length, 16-28, not '{value}'";
                    return null;
                case "--ec2-latency" when TryParseLatency(value, out var latency):
                    result = result with { Ec2Latency = latency };
                    break;
                case "--ec2-latency":
                    error = $"--ec2-latency must be milliseconds (250) or a duration (250ms, 1.5s, 2m), 0 to {MaxLatency.TotalMinutes} minutes, not '{value}'";
                    return null;
                case "--fault-rate" or "--throttle-rate" when TryParseRate(value, out var rate):
                    result = flag == "--fault-rate" ? result with { FaultRate = rate } : result with { ThrottleRate = rate };
                    break;
                default: // --fault-rate, --throttle-rate
                    error = $"{flag} must be a fraction from 0 to 1 (e.g. 0.05), not '{value}'";
                    return null;
            }
        }

        return result;
    }

    /// <summary>A number is milliseconds; else a number with a unit: ms, s, m.</summary>
    internal static bool TryParseLatency(string text, out TimeSpan latency)
    {
        latency = TimeSpan.Zero;
        var (number, unitMs) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1.0),
            _ when text.EndsWith('s') => (text[..^1], 1_000.0),
            _ when text.EndsWith('m') => (text[..^1], 60_000.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            return false;
        }

        var ms = value * unitMs;
        if (ms > MaxLatency.TotalMilliseconds)
        {
            return false;
        }

        latency = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    private static bool TryParseRate(string text, out double rate) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out rate) && rate is >= 0 and <= 1;
}
