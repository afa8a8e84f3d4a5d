namespace VpcCni.Cni;

/// <summary>The CNI verbs.</summary>
public enum CniCommand
{
    Add,
    Del,
    Check,
    Version,
    Status,
    Gc,
}

/// <summary>The validated CNI_* environment of one plugin invocation.</summary>
public sealed record CniEnvironment
{
    public const string CommandVariable = "CNI_COMMAND";
    public const string ContainerIdVariable = "CNI_CONTAINERID";
    public const string NetNsVariable = "CNI_NETNS";
    public const string IfNameVariable = "CNI_IFNAME";
    public const string ArgsVariable = "CNI_ARGS";
    public const string PathVariable = "CNI_PATH";

    /// <summary>Linux IFNAMSIZ minus the terminating NUL.</summary>
    public const int MaxInterfaceNameLength = 15;

    public required CniCommand Command { get; init; }

    /// <summary>Container id; empty for VERSION, STATUS and GC.</summary>
    public string ContainerId { get; init; } = "";

    /// <summary>Path of the container's network namespace; may be empty on DEL.</summary>
    public string NetNs { get; init; } = "";

    /// <summary>Interface name inside the container; empty for VERSION, STATUS and GC.</summary>
    public string IfName { get; init; } = "";

    public CniArgs Args { get; init; } = CniArgs.Empty;

    /// <summary>Directories to search for delegated plugins, in order.</summary>
    public IReadOnlyList<string> Path { get; init; } = [];

    /// <summary>Reads and validates the current process's environment.</summary>
    public static CniEnvironment FromProcess() => Parse(ReadProcessVariables());

    /// <summary>The CNI_* variables the spec defines, as this process has them (unset ones left out).</summary>
    /// <remarks>
    /// Read one by one rather than through <see cref="Environment.GetEnvironmentVariables()"/>, which copies the whole
    /// inherited environment into a hashtable first: a measurable share of a one-call plugin process.
    /// </remarks>
    internal static Dictionary<string, string?> ReadProcessVariables()
    {
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in (ReadOnlySpan<string>)[CommandVariable, ContainerIdVariable, NetNsVariable, IfNameVariable, ArgsVariable, PathVariable])
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                variables[name] = value;
            }
        }

        return variables;
    }

    /// <summary>
    /// Validates the CNI_* variables by the spec's rules. Every failure is a <see cref="CniException"/> with code 4
    /// whose message names the variables.
    /// </summary>
    public static CniEnvironment Parse(IReadOnlyDictionary<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var commandText = Get(variables, CommandVariable);
        if (commandText.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"required env variables [{CommandVariable}] missing");
        }

        var command = commandText switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "VERSION" => CniCommand.Version,
            "STATUS" => CniCommand.Status,
            "GC" => CniCommand.Gc,
            _ => throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"unknown {CommandVariable}: {commandText}", "expected one of ADD, DEL, CHECK, VERSION, STATUS, GC"),
        };

        var containerId = Get(variables, ContainerIdVariable);
        var netNs = Get(variables, NetNsVariable);
        var ifName = Get(variables, IfNameVariable);
        var path = Get(variables, PathVariable);
        var args = Get(variables, ArgsVariable);

        var perContainer = command is CniCommand.Add or CniCommand.Del or CniCommand.Check;
        var missing = new List<string>(4);
        if (perContainer && containerId.Length == 0)
        {
            missing.Add(ContainerIdVariable);
        }

        // DEL must work without a namespace (it may already be gone).
        if (command is CniCommand.Add or CniCommand.Check && netNs.Length == 0)
        {
            missing.Add(NetNsVariable);
        }

        if (perContainer && ifName.Length == 0)
        {
            missing.Add(IfNameVariable);
        }

        // GC may need to run delegated plugins; the spec lists CNI_PATH as required for it.
        if (command == CniCommand.Gc && path.Length == 0)
        {
            missing.Add(PathVariable);
        }

        if (missing.Count > 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"required env variables [{string.Join(",", missing)}] missing");
        }

        if (perContainer)
        {
            ValidateContainerId(containerId);
            ValidateInterfaceName(ifName);
        }

        return new CniEnvironment
        {
            Command = command,
            ContainerId = perContainer ? containerId : "",
            NetNs = command == CniCommand.Version ? "" : netNs,
            IfName = perContainer ? ifName : "",
            Args = perContainer ? CniArgs.Parse(args) : CniArgs.Empty,
            Path = SplitPath(path),
        };
    }

    /// <summary>Container ids match ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (code 4 otherwise).</summary>
    public static void ValidateContainerId(string containerId)
    {
        if (!IsValidIdentifier(containerId))
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"invalid characters in containerID ({ContainerIdVariable})", containerId);
        }
    }

    /// <summary>Linux interface name rules: non-empty, at most 15 bytes, not "." or "..", no '/', ':' or whitespace.</summary>
    public static void ValidateInterfaceName(string ifName)
    {
        string? problem = null;
        if (ifName.Length == 0)
        {
            problem = "interface name is empty";
        }
        else if (System.Text.Encoding.UTF8.GetByteCount(ifName) > MaxInterfaceNameLength)
        {
            problem = $"interface name is too long (max {MaxInterfaceNameLength} bytes)";
        }
        else if (ifName is "." or "..")
        {
            problem = "interface name is . or ..";
        }
        else
        {
            foreach (var c in ifName)
            {
                if (c is '/' or ':' || char.IsWhiteSpace(c))
                {
                    problem = $"interface name contains an invalid character '{c}'";
                    break;
                }
            }
        }

        if (problem is not null)
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"invalid {IfNameVariable}: {problem}", ifName);
        }
    }

    /// <summary>The container-id character rule, shared by network names.</summary>
    internal static bool IsValidIdentifier(string value)
    {
        if (value.Length == 0 || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var c in value.AsSpan(1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '_' and not '.' and not '-')
            {
                return false;
            }
        }

        return true;
    }

    private static string Get(IReadOnlyDictionary<string, string?> variables, string name) =>
        variables.TryGetValue(name, out var value) && value is not null ? value : "";

    private static string[] SplitPath(string path) =>
        path.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
