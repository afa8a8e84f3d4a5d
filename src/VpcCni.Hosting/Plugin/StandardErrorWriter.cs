using System.Text;
using Microsoft.Win32.SafeHandles;

namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The process's stderr (fd 2), opened at the first write. Console.Error would set up the console's encoding and
/// synchronized writer at every plugin start although a successful CNI call writes nothing there.
/// </summary>
internal sealed class StandardErrorWriter : TextWriter
{
    private readonly Lock _lock = new();
    private StreamWriter? _writer;

    public static StandardErrorWriter Instance { get; } = new();

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>Whether anything was written (the stream is open).</summary>
    public bool IsOpen => _writer is not null;

    public override void Write(char value)
    {
        lock (_lock)
        {
            Writer.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            Writer.Write(value);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        lock (_lock)
        {
            Writer.Write(buffer, index, count);
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_lock)
        {
            Writer.WriteLine(value);
        }
    }

    public override void Flush()
    {
        lock (_lock)
        {
            _writer?.Flush();
        }
    }

    /// <summary>Never closes fd 2; the writer lives as long as the process.</summary>
    protected override void Dispose(bool disposing)
    {
        Flush();
        base.Dispose(disposing);
    }

    private StreamWriter Writer => _writer ??= new StreamWriter(
        new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, bufferSize: 0),
        new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true };
}
