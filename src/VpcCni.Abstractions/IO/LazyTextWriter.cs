using System.Text;

namespace VpcCni.IO;

/// <summary>
/// A writer created at its first write. The plugin runner points Console.Out somewhere for the call and back afterwards;
/// creating the console's writers costs encoding and stream set-up at every plugin start although a successful CNI
/// call writes nothing there.
/// </summary>
internal sealed class LazyTextWriter(Func<TextWriter> create) : TextWriter
{
    private readonly Lock _lock = new();
    private TextWriter? _writer;

    public override Encoding Encoding => _writer?.Encoding ?? new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Whether the inner writer exists (something was written).</summary>
    public bool IsCreated => _writer is not null;

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

    private TextWriter Writer => _writer ??= create();
}
