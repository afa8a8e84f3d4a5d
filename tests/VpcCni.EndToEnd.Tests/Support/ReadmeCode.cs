namespace VpcCni.EndToEnd.Tests.Support;

/// <summary>
/// Keeps a README's code block equal to a region of compiled source, so documentation cannot drift from code that
/// builds. In the README, the block is the <c>```csharp</c> fence right after a marker line (an HTML comment such as
/// <c>&lt;!-- quick-start: Program.cs --&gt;</c>); in the source, the region is <c>#region name</c> ... its matching
/// <c>#endregion</c>, with nested region lines left out and the common indentation removed.
/// </summary>
internal static class ReadmeCode
{
    /// <summary>Asserts that the block after <paramref name="marker"/> is region <paramref name="region"/> of <paramref name="source"/>.</summary>
    /// <param name="readme">README path relative to the repository root.</param>
    /// <param name="source">Source file path relative to the repository root.</param>
    public static void ShouldShowRegion(string readme, string marker, string source, string region)
    {
        var block = Block(Read(readme), marker);
        var code = Region(Read(source), region);

        block.Should().NotBeNull($"{readme} must keep a csharp block right after the line '{marker}'");
        code.Should().NotBeNull($"{source} must keep '#region {region}' ... '#endregion'");
        block.Should().Be(code, $"{readme} shows region '{region}' of the compiled {source} verbatim");
    }

    /// <summary>The fenced csharp block on the lines after <paramref name="marker"/>, or null.</summary>
    internal static string? Block(string[] lines, string marker)
    {
        var at = Array.FindIndex(lines, l => l.Trim() == marker);
        if (at < 0 || at + 1 >= lines.Length || lines[at + 1].Trim() != "```csharp")
        {
            return null;
        }

        var end = Array.FindIndex(lines, at + 2, l => l.TrimEnd() == "```");
        return end < 0 ? null : string.Join('\n', lines[(at + 2)..end]);
    }

    /// <summary>The lines inside <c>#region name</c> and its matching <c>#endregion</c>, dedented; null when absent.</summary>
    internal static string? Region(string[] lines, string name)
    {
        var start = Array.FindIndex(lines, l => l.Trim() == $"#region {name}");
        if (start < 0)
        {
            return null;
        }

        var body = new List<string>();
        var depth = 1;
        for (var i = start + 1; i < lines.Length; i++)
        {
            var directive = lines[i].TrimStart();
            if (directive.StartsWith("#region", StringComparison.Ordinal))
            {
                depth++;
                continue;
            }

            if (directive.StartsWith("#endregion", StringComparison.Ordinal) && --depth == 0)
            {
                return Dedent(body);
            }

            if (!directive.StartsWith("#endregion", StringComparison.Ordinal))
            {
                body.Add(lines[i]);
            }
        }

        return null;
    }

    private static string Dedent(List<string> lines)
    {
        while (lines.Count > 0 && lines[0].Trim().Length == 0)
        {
            lines.RemoveAt(0);
        }

        while (lines.Count > 0 && lines[^1].Trim().Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Trim().Length == 0 ? "" : l[indent..].TrimEnd()));
    }

    private static string[] Read(string relativePath) =>
        File.ReadAllText(Path.Combine(Tools.RepoRoot, relativePath)).ReplaceLineEndings("\n").Split('\n');
}
