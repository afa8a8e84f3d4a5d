namespace VpcCni.Linux.Netlink.Protocol;

/// <summary>
/// What a netlink request does, for error messages only, formatted when an error needs it: formatting addresses,
/// routes and rules for every request cost a short-lived plugin measurable start-up time (docs/benchmarks.md).
/// </summary>
internal readonly struct NetlinkOperation
{
    private readonly string? _text;
    private readonly object? _subject;
    private readonly Func<object?, string>? _describe;

    public NetlinkOperation(string text) => _text = text;

    /// <summary>A description built from <paramref name="subject"/> by <paramref name="describe"/> when asked.</summary>
    public NetlinkOperation(object? subject, Func<object?, string> describe)
    {
        _subject = subject;
        _describe = describe;
    }

    public static implicit operator NetlinkOperation(string text) => new(text);

    public override string ToString() => _text ?? _describe?.Invoke(_subject) ?? "";
}
