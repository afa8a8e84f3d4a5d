using VpcCni.IO;

namespace VpcCni.Cni;

/// <summary>One invocation's validated inputs.</summary>
public sealed record CniRequest(CniEnvironment Environment, NetworkConfig Config);

/// <summary>
/// A CNI plugin's verbs. Throw <see cref="CniException"/> for a specific spec error; any other exception becomes
/// code 999. VERSION is answered by the runner.
/// </summary>
public interface ICniPlugin
{
    /// <summary>ADD: returns the result; the runner writes it in the request's version.</summary>
    ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>DEL: must succeed when the attachment is already gone.</summary>
    ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>CHECK (0.4.0+).</summary>
    ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>STATUS (1.1.0+): throw code 50/51 when ADD cannot be serviced.</summary>
    ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>GC (1.1.0+): release what is not in <see cref="NetworkConfig.ValidAttachments"/>.</summary>
    ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken);
}

/// <summary>Settings of <see cref="CniPluginRunner"/>.</summary>
public sealed record CniPluginRunnerOptions
{
    /// <summary>Versions the plugin accepts and answers in; VERSION reports exactly these.</summary>
    public IReadOnlyList<string> SupportedVersions { get; init; } = CniVersion.Supported;

    /// <summary>Larger stdin is refused (code 5) rather than buffered without bound.</summary>
    public int MaxConfigBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Where diagnostics go (never stdout); null for none.</summary>
    public TextWriter? Diagnostics { get; init; }
}

/// <summary>
/// Runs one plugin invocation: reads the environment and stdin once, validates them, dispatches the verb, and
/// writes exactly one JSON document (the result or the error) to stdout, or nothing. Never throws.
/// </summary>
public sealed class CniPluginRunner
{
    private readonly ICniPlugin _plugin;
    private readonly CniPluginRunnerOptions _options;

    public CniPluginRunner(ICniPlugin plugin, CniPluginRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        _plugin = plugin;
        _options = options ?? new CniPluginRunnerOptions();
    }

    /// <summary>
    /// Runs against the real process: environment, stdin and stdout. Console.Out is pointed at stderr while the
    /// plugin runs so that stray writes can never corrupt the protocol on stdout.
    /// </summary>
    public static async Task<int> RunProcessAsync(ICniPlugin plugin, CniPluginRunnerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var variables = CniEnvironment.ReadProcessVariables();
        // Console.Out is not read (nor restored from a saved copy): on Unix its first use initialises the terminal
        // (termios probes and a signal-handling thread), a cost a process that lives for one call should not pay.
        // Console.Error is not touched either unless something is written (its writer's set-up is start-up cost).
        Console.SetOut(options?.Diagnostics ?? new LazyTextWriter(static () => Console.Error));
        try
        {
            // Blocking I/O straight on file descriptors 0 and 1: the console streams initialise the terminal on first
            // write, and their async methods start thread-pool workers.
            var stdin = new BlockingStream(StandardStream(0, FileAccess.Read));
            var stdout = new BlockingStream(StandardStream(1, FileAccess.Write));
            await using (stdin.ConfigureAwait(false))
            await using (stdout.ConfigureAwait(false))
            {
                return await new CniPluginRunner(plugin, options).RunAsync(variables, stdin, stdout, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Console.SetOut(new LazyTextWriter(static () => new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true }));
        }
    }

    /// <summary>An unbuffered stream on a standard descriptor the process does not own (it stays open).</summary>
    private static Stream StandardStream(int descriptor, FileAccess access)
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(descriptor, ownsHandle: false), access, bufferSize: 0);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // Not open, or not a file/pipe/socket: the console stream copes (an empty or discarding stream).
            }
        }

        return access == FileAccess.Read ? Console.OpenStandardInput() : Console.OpenStandardOutput();
    }

    /// <summary>Runs one invocation; returns the process exit status (0 success, 1 error).</summary>
    public async Task<int> RunAsync(IReadOnlyDictionary<string, string?> environment, Stream stdin, Stream stdout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        byte[]? input = null;
        string? requestVersion = null;
        byte[]? output;
        int exitCode;
        try
        {
            input = await ReadAllAsync(stdin, cancellationToken).ConfigureAwait(false);
            var env = CniEnvironment.Parse(environment);
            (output, requestVersion) = await DispatchAsync(env, input, cancellationToken).ConfigureAwait(false);
            exitCode = 0;
        }
        catch (CniException ex)
        {
            output = ex.ToError(requestVersion ?? TryReadVersion(input) ?? _options.SupportedVersions[^1]).ToJsonUtf8();
            exitCode = 1;
        }
        catch (OperationCanceledException)
        {
            output = new CniError(requestVersion ?? TryReadVersion(input) ?? _options.SupportedVersions[^1], (int)CniErrorCode.TryAgainLater, "operation cancelled", "the plugin was asked to stop before it finished").ToJsonUtf8();
            exitCode = 1;
        }
#pragma warning disable CA1031 // The runner's contract: no exception escapes; it becomes the spec's internal error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _options.Diagnostics?.WriteLine(ex.ToString());
            output = new CniError(requestVersion ?? TryReadVersion(input) ?? _options.SupportedVersions[^1], (int)CniErrorCode.Internal, ex.Message, ex.GetType().FullName).ToJsonUtf8();
            exitCode = 1;
        }

        if (output is not null)
        {
            try
            {
                await stdout.WriteAsync(output, cancellationToken).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                _options.Diagnostics?.WriteLine($"cannot write to stdout: {ex.Message}");
                return 1;
            }
        }

        return exitCode;
    }

    private async Task<(byte[]? Output, string? Version)> DispatchAsync(CniEnvironment env, byte[] input, CancellationToken cancellationToken)
    {
        if (env.Command == CniCommand.Version)
        {
            // Echo the runtime's version (spec); an empty stdin gets the newest one we support.
            var asked = input.Length == 0 || IsWhitespace(input) ? null : CniVersionResultJson.ReadRequestVersion(input);
            var answered = asked ?? _options.SupportedVersions[^1];
            CniVersion.ParseOrThrow(answered);
            return (new CniVersionResult(answered, _options.SupportedVersions).ToJsonUtf8(), answered);
        }

        if (input.Length == 0 || IsWhitespace(input))
        {
            throw new CniException(CniErrorCode.DecodingFailure, "failed to decode network configuration", "stdin is empty");
        }

        var config = NetworkConfig.Parse(input);
        var version = config.CniVersion;
        if (!_options.SupportedVersions.Contains(version, StringComparer.Ordinal))
        {
            throw new CniException(
                CniErrorCode.IncompatibleVersion,
                "incompatible CNI versions",
                $"config is \"{version}\", plugin supports [{string.Join(", ", _options.SupportedVersions)}]");
        }

        var request = new CniRequest(env, config);
        switch (env.Command)
        {
            case CniCommand.Add:
                var result = await _plugin.AddAsync(request, cancellationToken).ConfigureAwait(false);
                var converted = result.CniVersion == version ? result : result.ConvertTo(version);
                return (converted.ToJsonUtf8(), version);
            case CniCommand.Del:
                await _plugin.DeleteAsync(request, cancellationToken).ConfigureAwait(false);
                return (null, version);
            case CniCommand.Check:
                RequireVersion(version, CniVersion.V0_4_0, "CHECK");
                await _plugin.CheckAsync(request, cancellationToken).ConfigureAwait(false);
                return (null, version);
            case CniCommand.Status:
                RequireVersion(version, CniVersion.V1_1_0, "STATUS");
                await _plugin.StatusAsync(request, cancellationToken).ConfigureAwait(false);
                return (null, version);
            case CniCommand.Gc:
                RequireVersion(version, CniVersion.V1_1_0, "GC");
                await _plugin.GarbageCollectAsync(request, cancellationToken).ConfigureAwait(false);
                return (null, version);
            default:
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"unknown {CniEnvironment.CommandVariable}: {env.Command}");
        }
    }

    private static void RequireVersion(string version, string minimum, string verb)
    {
        if (!CniVersion.AtLeast(version, minimum))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion, $"config version does not allow {verb}", $"{verb} needs cniVersion {minimum} or later; config is \"{version}\"");
        }
    }

    private async Task<byte[]> ReadAllAsync(Stream stdin, CancellationToken cancellationToken)
    {
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stdin.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _options.MaxConfigBytes)
                {
                    throw new CniException(CniErrorCode.IOFailure, "network configuration too large", $"stdin exceeds {_options.MaxConfigBytes} bytes");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (IOException ex)
        {
            throw new CniException(CniErrorCode.IOFailure, "failed to read network configuration from stdin", ex.Message, ex);
        }
    }

    /// <summary>
    /// Best effort, for the error object only: the cniVersion of the input if it has a valid one. The spec wants every
    /// error object to carry cniVersion; when the input has none (empty, not JSON, no valid version) the runner uses
    /// the newest version it supports (libcni ignores the field, so this only helps readers of the JSON).
    /// </summary>
    private static string? TryReadVersion(byte[]? input)
    {
        if (input is null || input.Length == 0)
        {
            return null;
        }

        try
        {
            var version = CniVersionResultJson.ReadRequestVersion(input);
            return CniVersion.TryParse(version, out _) ? version : null;
        }
        catch (CniException)
        {
            return null;
        }
    }

    private static bool IsWhitespace(byte[] input)
    {
        foreach (var b in input)
        {
            if (b is not (byte)' ' and not (byte)'\t' and not (byte)'\r' and not (byte)'\n')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Runs a stream's async reads and writes synchronously on the calling thread.</summary>
internal sealed class BlockingStream(Stream inner) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(inner.Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        inner.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        inner.Flush();
        return Task.CompletedTask;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
