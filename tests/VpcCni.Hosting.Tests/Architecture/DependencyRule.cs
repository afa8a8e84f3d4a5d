using System.Reflection;
using System.Xml.Linq;

namespace VpcCni.Hosting.Tests.Architecture;

/// <summary>
/// The package layering of design §2 as data: what each src/ package may reference (projects, packages, assemblies),
/// and a checker that lists every reference outside its package's allow-list.
/// </summary>
internal static class DependencyRule
{
    /// <summary>
    /// The Microsoft.Extensions abstractions any engine package may take: logging and options from the start, and the
    /// DI/hosting/configuration abstractions the packages' own registration extensions need.
    /// </summary>
    private static readonly string[] ExtensionsAbstractions =
    [
        "Microsoft.Extensions.Options",
        "Microsoft.Extensions.Logging.Abstractions",
        "Microsoft.Extensions.DependencyInjection.Abstractions",
        "Microsoft.Extensions.Hosting.Abstractions",
        "Microsoft.Extensions.Configuration.Abstractions",
    ];

    /// <summary>Assemblies the packages above bring that code may compile against (Options and Configuration expose IChangeToken etc.).</summary>
    private static readonly string[] ExtensionsAssemblies = [.. ExtensionsAbstractions, "Microsoft.Extensions.Primitives"];

    /// <summary>
    /// Abstractions: nothing at all beyond the BCL (today it has no project and no package reference; its JSON codec,
    /// LibraryImport fsync and everything else come from the shared framework).
    /// </summary>
    public static IReadOnlyDictionary<string, PackageRule> Rules { get; } = new Dictionary<string, PackageRule>(StringComparer.Ordinal)
    {
        ["VpcCni.Abstractions"] = new([], [], []),
        ["VpcCni.Ipam"] = new(["VpcCni.Abstractions"], ExtensionsAbstractions, ["VpcCni.Abstractions", .. ExtensionsAssemblies]),
        ["VpcCni.Aws"] = new(
            ["VpcCni.Abstractions"],
            [.. ExtensionsAbstractions, "AWSSDK.EC2", "Polly.Core", "System.Threading.RateLimiting"],
            ["VpcCni.Abstractions", .. ExtensionsAssemblies, "AWSSDK.Core", "AWSSDK.EC2", "Polly.Core", "System.Threading.RateLimiting"]),
        ["VpcCni.Linux"] = new(["VpcCni.Abstractions"], ExtensionsAbstractions, ["VpcCni.Abstractions", .. ExtensionsAssemblies]),

        // The loopback emulators serve the simulation over Kestrel: the one package on ASP.NET Core, so that VpcCni.Aws
        // (the EC2 provider) never brings it to its consumers. No NuGet package beyond VpcCni.Aws's.
        ["VpcCni.Aws.Emulation"] = new(
            ["VpcCni.Aws"],
            [],
            ["VpcCni.Abstractions", "VpcCni.Aws", .. ExtensionsAssemblies])
        {
            Frameworks = [AspNetCoreFramework],
        },

        // Hosting composes the four; it carries the plugin's gRPC client, so it must stay free of ASP.NET Core
        // (the CNI plugin executable must not load it: design §2). It is the only package with the Kubernetes client.
        ["VpcCni.Hosting"] = new(
            ["VpcCni.Abstractions", "VpcCni.Ipam", "VpcCni.Aws", "VpcCni.Linux"],
            [.. ExtensionsAbstractions, "Google.Protobuf", "Grpc.Net.Client", "Grpc.HealthCheck", "Grpc.Tools", "KubernetesClient.Aot"],
            [
                "VpcCni.Abstractions", "VpcCni.Ipam", "VpcCni.Aws", "VpcCni.Linux", .. ExtensionsAssemblies,
                "AWSSDK.Core", "AWSSDK.EC2", "Polly.Core", "System.Threading.RateLimiting",
                "Google.Protobuf", "Grpc.Core.Api", "Grpc.Net.Client", "Grpc.Net.Common", "Grpc.HealthCheck",
                "KubernetesClient.Aot",
            ]),
    };

    /// <summary>Packages whose assets are build-time only: they must be referenced with PrivateAssets="All".</summary>
    public static IReadOnlySet<string> BuildOnlyPackages { get; } = new HashSet<string>(StringComparer.Ordinal) { "Grpc.Tools" };

    /// <summary>The shared framework of Kestrel, which only <c>VpcCni.Aws.Emulation</c> may take.</summary>
    public const string AspNetCoreFramework = "Microsoft.AspNetCore.App";

    /// <summary>Names of the assemblies of Microsoft.AspNetCore.App (this test project references it).</summary>
    public static IReadOnlySet<string> AspNetCoreAssemblies { get; } = LoadAspNetCoreAssemblies();

    /// <summary>Names of the assemblies of the shared framework the tests run on (Microsoft.NETCore.App): the BCL.</summary>
    public static IReadOnlySet<string> BclAssemblies { get; } = LoadBclAssemblies();

    /// <summary>Every reference of a csproj outside its rule, one line each (empty when the project keeps the rule).</summary>
    public static IReadOnlyList<string> CheckProject(string projectName, XDocument csproj)
    {
        ArgumentNullException.ThrowIfNull(csproj);
        if (!Rules.TryGetValue(projectName, out var rule))
        {
            return [$"{projectName} has no dependency rule: add one to {nameof(DependencyRule)}.{nameof(Rules)}"];
        }

        var violations = new List<string>();
        foreach (var item in Items(csproj, "ProjectReference"))
        {
            var referenced = Path.GetFileNameWithoutExtension(item.Include.Replace('\\', '/'));
            if (!rule.Projects.Contains(referenced, StringComparer.Ordinal))
            {
                violations.Add($"{projectName} references project {referenced}; allowed: [{string.Join(", ", rule.Projects)}]");
            }
        }

        foreach (var item in Items(csproj, "PackageReference"))
        {
            if (!rule.Packages.Contains(item.Include, StringComparer.Ordinal))
            {
                violations.Add($"{projectName} references package {item.Include}; allowed: [{string.Join(", ", rule.Packages)}]");
            }
            else if (BuildOnlyPackages.Contains(item.Include) && !string.Equals(item.PrivateAssets, "All", StringComparison.OrdinalIgnoreCase))
            {
                violations.Add($"{projectName} references build-only package {item.Include} without PrivateAssets=\"All\": consumers would inherit it");
            }
        }

        foreach (var item in Items(csproj, "FrameworkReference"))
        {
            if (!rule.Frameworks.Contains(item.Include, StringComparer.Ordinal))
            {
                violations.Add($"{projectName} references shared framework {item.Include}; a library package takes only Microsoft.NETCore.App");
            }
        }

        return violations;
    }

    /// <summary>Every assembly the compiled package references outside the BCL and its rule.</summary>
    public static IReadOnlyList<string> CheckAssembly(string projectName, IEnumerable<AssemblyName> references)
    {
        ArgumentNullException.ThrowIfNull(references);
        if (!Rules.TryGetValue(projectName, out var rule))
        {
            return [$"{projectName} has no dependency rule: add one to {nameof(DependencyRule)}.{nameof(Rules)}"];
        }

        return
        [
            .. references
                .Select(r => r.Name ?? "")
                .Where(name => !BclAssemblies.Contains(name) && !rule.Assemblies.Contains(name, StringComparer.Ordinal)
                    && !(rule.Frameworks.Contains(AspNetCoreFramework, StringComparer.Ordinal) && AspNetCoreAssemblies.Contains(name)))
                .Order(StringComparer.Ordinal)
                .Select(name => $"{projectName}.dll references assembly {name}, which is neither the BCL nor allowed: [{string.Join(", ", rule.Assemblies)}]"),
        ];
    }

    private static IEnumerable<(string Include, string? PrivateAssets)> Items(XDocument csproj, string kind) =>
        csproj.Descendants()
            .Where(e => e.Name.LocalName == kind && e.Attribute("Include") is not null)
            .Select(e => (e.Attribute("Include")!.Value.Trim(),
                e.Attribute("PrivateAssets")?.Value ?? e.Elements().FirstOrDefault(c => c.Name.LocalName == "PrivateAssets")?.Value));

    private static HashSet<string> LoadAspNetCoreAssemblies()
    {
        var directory = Path.GetDirectoryName(typeof(Microsoft.AspNetCore.Http.HttpContext).Assembly.Location)
            ?? throw new InvalidOperationException("the ASP.NET Core shared framework's directory is unknown");
        return Directory.EnumerateFiles(directory, "*.dll").Select(Path.GetFileNameWithoutExtension).OfType<string>().ToHashSet(StringComparer.Ordinal);
    }

    private static HashSet<string> LoadBclAssemblies()
    {
        var directory = Path.GetDirectoryName(typeof(object).Assembly.Location)
            ?? throw new InvalidOperationException("the shared framework's directory is unknown");
        var names = Directory.EnumerateFiles(directory, "*.dll").Select(Path.GetFileNameWithoutExtension).OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (!names.Contains("System.Runtime") || names.Any(n => n.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) || n.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"{directory} does not look like Microsoft.NETCore.App");
        }

        return names;
    }
}

/// <summary>What one package may reference.</summary>
/// <param name="Projects">ProjectReference targets (project names).</param>
/// <param name="Packages">PackageReference ids.</param>
/// <param name="Assemblies">Non-BCL assemblies the compiled dll may reference.</param>
internal sealed record PackageRule(IReadOnlyList<string> Projects, IReadOnlyList<string> Packages, IReadOnlyList<string> Assemblies)
{
    /// <summary>Shared frameworks beyond Microsoft.NETCore.App the package may reference (their assemblies are then allowed too).</summary>
    public IReadOnlyList<string> Frameworks { get; init; } = [];
}
