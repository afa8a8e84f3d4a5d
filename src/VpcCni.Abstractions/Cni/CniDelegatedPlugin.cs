using System.ComponentModel;
using System.Diagnostics;

namespace VpcCni.Cni;

/// <summary>
/// Runs a delegated plugin (IPAM) the way the spec's delegation contract says (cni-spec §8): the executable named by
/// the type is looked up in CNI_PATH, it gets the same CNI_* environment with CNI_COMMAND set to the verb and the
/// request configuration byte for byte on stdin, and its stderr goes to ours. A failure becomes a
/// <see cref="CniException"/> carrying the delegate's own code and message.
/// </summary>
public static class CniDelegatedPlugin
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The first executable file named <paramref name="type"/> in <paramref name="path"/>; code 7 when there is none.</summary>
    public static string Find(string type, IReadOnlyList<string> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrEmpty(type) || type.Contains('/', StringComparison.Ordinal) || type is "." or "..")
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid delegated plugin type", $"\"{type}\" must be a file name");
        }

        foreach (var directory in path)
        {
            var candidate = System.IO.Path.Combine(directory, type);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new CniException(
            CniErrorCode.InvalidNetworkConfig,
            $"failed to find plugin \"{type}\" in path",
            $"{CniEnvironment.PathVariable} is [{string.Join(", ", path)}]");
    }

    /// <summary>ADD: the delegate's result, read in <paramref name="cniVersion"/> when it names none.</summary>
    public static async Task<CniResult> AddAsync(string type, CniEnvironment environment, ReadOnlyMemory<byte> config, string cniVersion, CancellationToken cancellationToken = default)
    {
        var output = await ExecuteAsync(type, CniCommand.Add, environment, config, cancellationToken).ConfigureAwait(false);
        if (output.Length == 0)
        {
            throw new CniException(CniErrorCode.Internal, $"delegated plugin \"{type}\" printed no result for ADD");
        }

        return CniResult.Parse(output, cniVersion);
    }

    /// <summary>DEL (idempotent in the delegate, IPAM-7).</summary>
    public static Task DeleteAsync(string type, CniEnvironment environment, ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) =>
        ExecuteAsync(type, CniCommand.Del, environment, config, cancellationToken);

    /// <summary>CHECK.</summary>
    public static Task CheckAsync(string type, CniEnvironment environment, ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) =>
        ExecuteAsync(type, CniCommand.Check, environment, config, cancellationToken);

    /// <summary>Runs one verb; returns the delegate's stdout (empty for DEL/CHECK).</summary>
    public static async Task<byte[]> ExecuteAsync(string type, CniCommand command, CniEnvironment environment, ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var executable = Find(type, environment.Path);
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false, // IPAM-3: the delegate's diagnostics reach the runtime through our stderr.
            UseShellExecute = false,
        };
        foreach (var (name, value) in Variables(command, environment))
        {
            info.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new CniException(CniErrorCode.Internal, $"delegated plugin {executable} did not start");
        }
        catch (Win32Exception ex)
        {
            throw new CniException(CniErrorCode.Internal, $"cannot run delegated plugin {executable}", ex.Message, ex);
        }

        using (process)
        {
            using var output = new MemoryStream();
            var reading = process.StandardOutput.BaseStream.CopyToAsync(output, cancellationToken);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(DefaultTimeout);
            try
            {
                await process.StandardInput.BaseStream.WriteAsync(config, limit.Token).ConfigureAwait(false);
                process.StandardInput.Close();
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
                await reading.ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The delegate exited without reading stdin (a broken pipe): its exit status and stdout tell why.
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
                await reading.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new CniException(CniErrorCode.TryAgainLater, $"delegated plugin \"{type}\" timed out", $"{command} did not finish in {DefaultTimeout.TotalSeconds} s");
            }

            var bytes = output.ToArray();
            return process.ExitCode == 0 ? bytes : throw Failure(type, command, process.ExitCode, bytes);
        }
    }

    /// <summary>The delegate's CNI_* variables: ours, with CNI_COMMAND set to the delegated verb (IPAM-2).</summary>
    internal static IEnumerable<KeyValuePair<string, string>> Variables(CniCommand command, CniEnvironment environment)
    {
        yield return new(CniEnvironment.CommandVariable, CommandName(command));
        yield return new(CniEnvironment.ContainerIdVariable, environment.ContainerId);
        yield return new(CniEnvironment.NetNsVariable, environment.NetNs);
        yield return new(CniEnvironment.IfNameVariable, environment.IfName);
        yield return new(CniEnvironment.ArgsVariable, environment.Args.ToString());
        yield return new(CniEnvironment.PathVariable, string.Join(':', environment.Path));
    }

    private static string CommandName(CniCommand command) => command switch
    {
        CniCommand.Add => "ADD",
        CniCommand.Del => "DEL",
        CniCommand.Check => "CHECK",
        CniCommand.Version => "VERSION",
        CniCommand.Status => "STATUS",
        CniCommand.Gc => "GC",
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "unknown CNI command"),
    };

    private static CniException Failure(string type, CniCommand command, int exitCode, byte[] stdout)
    {
        if (stdout.Length > 0)
        {
            try
            {
                // The delegate's error object keeps its code: a runtime must see host-local's "no addresses" as such.
                var error = CniError.Parse(stdout);
                return new CniException((CniErrorCode)error.Code, error.Msg, error.Details);
            }
            catch (CniException)
            {
                // Not an error object; reported below with the raw text.
            }
        }

        var text = System.Text.Encoding.UTF8.GetString(stdout).Trim();
        return new CniException(
            CniErrorCode.Internal,
            $"delegated plugin \"{type}\" failed {CommandName(command)} with exit status {exitCode}",
            text.Length == 0 ? "no output on stdout (see stderr)" : text);
    }
}
