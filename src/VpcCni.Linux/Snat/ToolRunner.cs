using System.Diagnostics;
using VpcCni.Linux.Namespaces;

namespace VpcCni.Linux.Snat;

/// <summary>
/// Runs a tool inside a network namespace: the child is forked from an executor thread that has entered
/// the namespace, and a child inherits the forking thread's namespace. No shell is involved.
/// </summary>
internal sealed class ToolRunner(NetworkNamespaceExecutor executor)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public (int ExitCode, string Output, string Error) Run(NetworkNamespace ns, string fileName, IReadOnlyList<string> arguments, string? input = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Only the fork must happen on the namespace thread; waiting happens back on the caller.
        var process = executor.Invoke(ns, static i => Process.Start(i) ?? throw new InvalidOperationException($"{i.FileName} did not start."), info);
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }

            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new NetfilterException(fileName, -1, $"timed out after {Timeout.TotalSeconds} s");
            }

            return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
        }
    }

    public string RunChecked(NetworkNamespace ns, string fileName, IReadOnlyList<string> arguments, string? input = null)
    {
        var (exit, output, error) = Run(ns, fileName, arguments, input);
        return exit == 0 ? output : throw new NetfilterException($"{fileName} {string.Join(' ', arguments)}", exit, error);
    }
}
