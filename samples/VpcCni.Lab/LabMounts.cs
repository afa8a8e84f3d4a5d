using System.Diagnostics;
using System.Globalization;

namespace VpcCni.Lab;

/// <summary>
/// The small tmpfs mounts the lab puts under its own work directory (a node's checkpoint directory that chaos fills
/// to make the disk full). Only mounts under the lab's work directory are ever made or removed.
/// </summary>
internal static class LabMounts
{
    /// <summary>Room for the checkpoint, its journal and their backups, and little more: chaos fills the rest.</summary>
    public const long StateTmpfsBytes = 4 * 1024 * 1024;

    public static void MountTmpfs(string directory, long bytes)
    {
        Directory.CreateDirectory(directory);
        Run("mount", "-t", "tmpfs", "-o", $"size={bytes.ToString(CultureInfo.InvariantCulture)},mode=0700", "vpclab-state", directory);
    }

    /// <summary>Unmounts every mount point below <paramref name="directory"/> (deepest first), also after a crash.</summary>
    public static void UnmountUnder(string directory)
    {
        var root = Path.GetFullPath(directory).TrimEnd('/') + "/";
        List<string> points;
        try
        {
            points = [.. File.ReadAllLines("/proc/self/mounts")
                .Select(line => line.Split(' '))
                .Where(f => f.Length > 1)
                .Select(f => f[1].Replace("\\040", " ", StringComparison.Ordinal))
                .Where(p => p.StartsWith(root, StringComparison.Ordinal))
                .Distinct()
                .OrderByDescending(p => p.Length)];
        }
        catch (IOException)
        {
            return;
        }

        foreach (var point in points)
        {
            Run("umount", "-l", point);
        }
    }

    private static void Run(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {command}");
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Trim()}");
        }
    }
}
