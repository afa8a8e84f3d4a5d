using System.Globalization;

namespace VpcCni.Lab;

/// <summary>
/// One live lab per name: an exclusive lock on /run/vpc-cni-lab.NAME.lock (FileShare.None takes flock(2) on Linux),
/// held for the lab's lifetime and released by the kernel if the process dies, so leftovers of a dead lab are cleaned
/// up while a live lab's namespaces are never touched.
/// </summary>
internal sealed class LabLock : IDisposable
{
    private readonly FileStream _file;

    private LabLock(FileStream file) => _file = file;

    public static string PathOf(string name) => $"/run/vpc-cni-lab.{name}.lock";

    /// <summary>The live (or last) lock holder's process id, written beside the lock.</summary>
    public static string PidPathOf(string name) => PathOf(name) + ".pid";

    /// <summary>The process id in <see cref="PidPathOf"/>; null when there is none.</summary>
    public static int? HolderPid(string name) => int.TryParse(Holder(name), out var pid) ? pid : null;

    /// <summary>Where a background `up` writes the lab's output.</summary>
    public static string LogPathOf(string name) => $"/run/vpc-cni-lab.{name}.log";

    /// <summary>Takes the lock or throws <see cref="LabBusyException"/> naming the live lab's process.</summary>
    public static LabLock Acquire(string name)
    {
        var path = PathOf(name);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new LabBusyException(name, Holder(name));
        }

        // A separate file: another process cannot open the locked one at all (.NET takes a shared flock to read).
        File.WriteAllText(PidPathOf(name), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return new LabLock(file);
    }

    /// <summary>Throws <see cref="LabBusyException"/> when a lab of this name is live; takes nothing.</summary>
    public static void ThrowIfBusy(string name)
    {
        using var probe = Acquire(name);
    }

    public void Dispose() => _file.Dispose();

    private static string Holder(string name)
    {
        try
        {
            return File.ReadAllText(PidPathOf(name)).Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

/// <summary>Another lab of the same name is live.</summary>
internal sealed class LabBusyException(string name, string pid)
    : Exception($"a lab named \"{name}\" is live (process {pid}); remove it with `vpc-cni-lab down{(name == LabOptions.DefaultName ? "" : " --name " + name)}` or start this one with another --name");
