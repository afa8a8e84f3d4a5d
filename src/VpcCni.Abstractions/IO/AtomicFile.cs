using System.Runtime.InteropServices;

namespace VpcCni.IO;

/// <summary>
/// Replaces files so that readers see the old or the new content, never a partial one, and so that the new
/// content survives a crash once the call returns (file and directory entry both fsynced).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public static partial class AtomicFile
{
    /// <summary>Writes to a temp file beside the target, fsyncs it, renames it over the target, and fsyncs the directory.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.SetUnixFileMode(temp, mode);
            File.Move(temp, path, overwrite: true);
            SyncDirectory(directory);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Copies a file atomically, keeping the source's permission bits.</summary>
    public static void Copy(string source, string destination)
    {
        var mode = File.GetUnixFileMode(source);
        var directory = Path.GetDirectoryName(Path.GetFullPath(destination))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(destination)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var input = File.OpenRead(source))
            using (var output = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                input.CopyTo(output);
                output.Flush(flushToDisk: true);
            }

            File.SetUnixFileMode(temp, mode);

            // rename(2) over a running binary is safe: processes keep the old inode ("text file busy" only hits writes).
            File.Move(temp, destination, overwrite: true);
            SyncDirectory(directory);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// fsyncs a directory so a rename in it is durable. .NET cannot open directories as files, so this goes to libc
    /// (open O_DIRECTORY + fsync); on other systems it does nothing.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int ReadOnly = 0;
        const int DirectoryOnly = 0x10000; // O_DIRECTORY on Linux
        const int CloseOnExec = 0x80000; // O_CLOEXEC
        var fd = Open(directory, ReadOnly | DirectoryOnly | CloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
