using System.Diagnostics.CodeAnalysis;

namespace VpcCni.Cni;

/// <summary>CNI specification versions and semver comparison between them.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707", Justification = "V1_0_0 reads as the version it names.")]
public static class CniVersion
{
    public const string V0_1_0 = "0.1.0";
    public const string V0_2_0 = "0.2.0";
    public const string V0_3_0 = "0.3.0";
    public const string V0_3_1 = "0.3.1";
    public const string V0_4_0 = "0.4.0";
    public const string V1_0_0 = "1.0.0";
    public const string V1_1_0 = "1.1.0";

    /// <summary>The newest version this codec implements.</summary>
    public const string Latest = V1_1_0;

    /// <summary>Every version this codec can parse and produce, oldest first.</summary>
    public static IReadOnlyList<string> Supported { get; } = [V0_1_0, V0_2_0, V0_3_0, V0_3_1, V0_4_0, V1_0_0, V1_1_0];

    public static bool IsSupported(string? version) => version is not null && Supported.Contains(version, StringComparer.Ordinal);

    /// <summary>Parses a semantic version "MAJOR.MINOR.PATCH" (CNI uses no pre-release tags).</summary>
    public static bool TryParse([NotNullWhen(true)] string? version, out (int Major, int Minor, int Patch) parsed)
    {
        parsed = default;
        if (string.IsNullOrEmpty(version))
        {
            return false;
        }

        var parts = version.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        Span<int> numbers = stackalloc int[3];
        for (var i = 0; i < 3; i++)
        {
            var part = parts[i];
            if (part.Length == 0 || part.Length > 9 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            foreach (var c in part)
            {
                if (c is < '0' or > '9')
                {
                    return false;
                }
            }

            numbers[i] = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
        }

        parsed = (numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>Compares two versions; throws <see cref="CniException"/> (code 6) for an invalid version string.</summary>
    public static int Compare(string left, string right)
    {
        var l = ParseOrThrow(left);
        var r = ParseOrThrow(right);
        return l.CompareTo(r);
    }

    /// <summary>True when <paramref name="version"/> is at least <paramref name="minimum"/>.</summary>
    public static bool AtLeast(string version, string minimum) => Compare(version, minimum) >= 0;

    internal static (int Major, int Minor, int Patch) ParseOrThrow(string? version) =>
        TryParse(version, out var parsed)
            ? parsed
            : throw new CniException(CniErrorCode.DecodingFailure, "invalid version string", $"\"{version}\" is not a semantic version (MAJOR.MINOR.PATCH)");

    /// <summary>The result shape a version uses.</summary>
    internal static ResultShape ShapeOf(string version) => version switch
    {
        V0_1_0 or V0_2_0 => ResultShape.Legacy,
        V0_3_0 or V0_3_1 or V0_4_0 => ResultShape.Versioned,
        V1_0_0 or V1_1_0 => ResultShape.Current,
        _ => throw new CniException(CniErrorCode.IncompatibleVersion, "unsupported CNI version", $"no result format for CNI version \"{version}\"; supported: {string.Join(", ", Supported)}"),
    };
}

/// <summary>The three JSON shapes of an ADD result.</summary>
internal enum ResultShape
{
    /// <summary>0.1.0/0.2.0: ip4/ip6 objects.</summary>
    Legacy,

    /// <summary>0.3.0–0.4.0: interfaces + ips with "version".</summary>
    Versioned,

    /// <summary>1.0.0/1.1.0: ips without "version", 1.1.0 extras.</summary>
    Current,
}
