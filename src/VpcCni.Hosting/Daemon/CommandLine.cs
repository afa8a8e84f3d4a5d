namespace VpcCni.Hosting.Daemon;

/// <summary>A small, strict "--name value" / "--flag" parser: unknown or malformed flags are errors naming the flag.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CommandLine(string command) => Command = command;

    public string Command { get; }

    /// <summary>Parses; the first argument not starting with "--" is the command (default <paramref name="defaultCommand"/>).</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, string defaultCommand, IReadOnlySet<string> flags)
    {
        ArgumentNullException.ThrowIfNull(args);
        var start = 0;
        var command = defaultCommand;
        if (args.Count > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
        {
            command = args[0];
            start = 1;
        }

        var line = new CommandLine(command);
        for (var i = start; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new CommandLineException($"unexpected argument \"{arg}\"");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[2..eq] : arg[2..];
            if (flags.Contains(name))
            {
                line._values[name] = eq > 0 ? arg[(eq + 1)..] : null;
                continue;
            }

            if (eq > 0)
            {
                line._values[name] = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                line._values[name] = args[++i];
            }
            else
            {
                throw new CommandLineException($"--{name} needs a value");
            }
        }

        return line;
    }

    public string? Get(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var value) ? value : null;
    }

    public string Require(string name) => Get(name) ?? throw new CommandLineException($"--{name} is required");

    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out var value))
        {
            return false;
        }

        return value is null or "true" or "1" || (value is "false" or "0" ? false : throw new CommandLineException($"--{name} takes no value or true/false"));
    }

    public int? Int(string name, int min = 0, int max = int.MaxValue)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new CommandLineException($"--{name} \"{text}\" must be an integer from {min} to {max}");
    }

    /// <summary>"5s", "500ms", "2m" or plain seconds.</summary>
    public TimeSpan? Duration(string name)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }

        static bool Num(string s, out double v) => double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out v) && v >= 0;
        return text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) && Num(text[..^2], out var ms) => TimeSpan.FromMilliseconds(ms),
            _ when text.EndsWith('s') && Num(text[..^1], out var s) => TimeSpan.FromSeconds(s),
            _ when text.EndsWith('m') && Num(text[..^1], out var m) => TimeSpan.FromMinutes(m),
            _ when Num(text, out var plain) => TimeSpan.FromSeconds(plain),
            _ => throw new CommandLineException($"--{name} \"{text}\" is not a duration (e.g. 5s, 500ms)"),
        };
    }

    /// <summary>Fails on any option the command did not read.</summary>
    public void EnsureAllUsed()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new CommandLineException($"unknown option{(unknown.Count > 1 ? "s" : "")} for \"{Command}\": {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }
}

/// <summary>Bad command-line usage; the message names the argument.</summary>
internal sealed class CommandLineException(string message) : Exception(message);
