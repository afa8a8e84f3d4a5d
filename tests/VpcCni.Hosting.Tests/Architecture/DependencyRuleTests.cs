using System.Reflection;
using System.Xml.Linq;

namespace VpcCni.Hosting.Tests.Architecture;

/// <summary>
/// Design §2's dependency rule, checked on the project files (direct project, package and framework references) and
/// on the compiled assemblies (what the code really binds to, so a type reached through a transitive package shows).
/// </summary>
public sealed class DependencyRuleTests
{
    public static TheoryData<string> Packages() => [.. DependencyRule.Rules.Keys];

    private static string RepoRoot { get; } = FindRepoRoot();

    [Fact]
    public void SourceTree_EveryPackage_HasARule()
    {
        var projects = Directory.GetDirectories(Path.Combine(RepoRoot, "src"))
            .Select(d => Path.GetFileName(d))
            .Where(name => File.Exists(Path.Combine(RepoRoot, "src", name, name + ".csproj")));

        projects.Should().BeEquivalentTo(DependencyRule.Rules.Keys, "every src/ package needs an entry in the dependency rule and every rule a package");
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void ProjectFile_References_KeepTheRule(string package)
    {
        var csproj = XDocument.Load(Path.Combine(RepoRoot, "src", package, package + ".csproj"));

        DependencyRule.CheckProject(package, csproj).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void CompiledAssembly_References_AreBclOrAllowed(string package)
    {
        var assembly = Assembly.Load(new AssemblyName(package));

        DependencyRule.CheckAssembly(package, assembly.GetReferencedAssemblies()).Should().BeEmpty();
    }

    [Fact]
    public void CompiledAbstractions_References_OnlyTheBcl()
    {
        var references = Assembly.Load(new AssemblyName("VpcCni.Abstractions")).GetReferencedAssemblies().Select(r => r.Name!);

        references.Should().OnlyContain(name => DependencyRule.BclAssemblies.Contains(name));
    }

    [Theory]
    [InlineData("VpcCni.Aws", "../VpcCni.Linux/VpcCni.Linux.csproj")]
    [InlineData("VpcCni.Linux", "../VpcCni.Aws/VpcCni.Aws.csproj")]
    [InlineData("VpcCni.Aws", "../VpcCni.Ipam/VpcCni.Ipam.csproj")]
    [InlineData("VpcCni.Linux", "..\\VpcCni.Ipam\\VpcCni.Ipam.csproj")]
    [InlineData("VpcCni.Ipam", "../VpcCni.Aws/VpcCni.Aws.csproj")]
    [InlineData("VpcCni.Abstractions", "../VpcCni.Ipam/VpcCni.Ipam.csproj")]
    public void CheckProject_ForbiddenProjectReference_IsAViolation(string package, string reference)
    {
        var csproj = XDocument.Parse($"""
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup>
                <ProjectReference Include="{reference}" />
              </ItemGroup>
            </Project>
            """);

        var forbidden = Path.GetFileNameWithoutExtension(reference.Replace('\\', '/'));
        DependencyRule.CheckProject(package, csproj).Should().ContainSingle().Which.Should().Contain($"references project {forbidden}");
    }

    [Theory]
    [InlineData("VpcCni.Abstractions", "Microsoft.Extensions.Logging.Abstractions")]
    [InlineData("VpcCni.Linux", "AWSSDK.EC2")]
    [InlineData("VpcCni.Ipam", "Polly.Core")]
    [InlineData("VpcCni.Hosting", "Grpc.AspNetCore")]
    [InlineData("VpcCni.Ipam", "KubernetesClient.Aot")]
    [InlineData("VpcCni.Aws", "KubernetesClient.Aot")]
    public void CheckProject_ForbiddenPackage_IsAViolation(string package, string reference)
    {
        var csproj = XDocument.Parse($"""<Project><ItemGroup><PackageReference Include="{reference}" /></ItemGroup></Project>""");

        DependencyRule.CheckProject(package, csproj).Should().ContainSingle().Which.Should().Contain($"references package {reference}");
    }

    [Fact]
    public void CheckProject_BuildOnlyPackageWithoutPrivateAssets_IsAViolation()
    {
        var csproj = XDocument.Parse("""<Project><ItemGroup><PackageReference Include="Grpc.Tools" /></ItemGroup></Project>""");

        DependencyRule.CheckProject("VpcCni.Hosting", csproj).Should().ContainSingle().Which.Should().Contain("PrivateAssets");
    }

    [Fact]
    public void CheckProject_FrameworkReference_IsAViolation()
    {
        var csproj = XDocument.Parse("""<Project><ItemGroup><FrameworkReference Include="Microsoft.AspNetCore.App" /></ItemGroup></Project>""");

        DependencyRule.CheckProject("VpcCni.Hosting", csproj).Should().ContainSingle().Which.Should().Contain("Microsoft.AspNetCore.App");
    }

    [Fact]
    public void CheckProject_EmulationOnAspNetCore_IsAllowed()
    {
        var csproj = XDocument.Parse("""<Project><ItemGroup><FrameworkReference Include="Microsoft.AspNetCore.App" /></ItemGroup></Project>""");

        DependencyRule.CheckProject("VpcCni.Aws.Emulation", csproj).Should().BeEmpty();
    }

    [Theory]
    [InlineData("VpcCni.Aws", "../VpcCni.Aws.Emulation/VpcCni.Aws.Emulation.csproj")]
    [InlineData("VpcCni.Hosting", "../VpcCni.Aws.Emulation/VpcCni.Aws.Emulation.csproj")]
    public void CheckProject_ReferenceToTheEmulators_IsAViolation(string package, string reference)
    {
        var csproj = XDocument.Parse($"""<Project><ItemGroup><ProjectReference Include="{reference}" /></ItemGroup></Project>""");

        DependencyRule.CheckProject(package, csproj).Should().ContainSingle().Which.Should().Contain("VpcCni.Aws.Emulation");
    }

    [Fact]
    public void CheckAssembly_AwsBindingToKestrel_IsAViolation()
    {
        AssemblyName[] references = [new("System.Runtime"), new("VpcCni.Abstractions"), new("Microsoft.AspNetCore.Server.Kestrel.Core")];

        DependencyRule.CheckAssembly("VpcCni.Aws", references).Should().ContainSingle().Which.Should().Contain("Kestrel");
    }

    [Fact]
    public void CheckAssembly_LinuxBindingToAws_IsAViolation()
    {
        AssemblyName[] references = [new("System.Runtime"), new("VpcCni.Abstractions"), new("AWSSDK.Core")];

        DependencyRule.CheckAssembly("VpcCni.Linux", references).Should().ContainSingle().Which.Should().Contain("AWSSDK.Core");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("VpcCni.sln not found above " + AppContext.BaseDirectory);
    }
}
