using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>
/// Each package README's quick-start is a region of code the build compiles (samples/IpamEmbedder, built from the
/// packages by scripts/test.sh; a test of tests/VpcCni.Hosting.Tests that also runs), so the READMEs cannot drift.
/// </summary>
public sealed class PackageReadmeTests
{
    [Theory]
    [InlineData("src/VpcCni.Ipam/README.md", "samples/IpamEmbedder/Program.cs", "engine")]
    [InlineData("src/VpcCni.Aws/README.md", "samples/IpamEmbedder/Program.cs", "cloud")]
    [InlineData("src/VpcCni.Hosting/README.md", "tests/VpcCni.Hosting.Tests/DependencyInjection/ReadmeQuickStartTests.cs", "quick-start")]
    public void Readme_QuickStart_IsTheCompiledRegion(string readme, string source, string region) =>
        ReadmeCode.ShouldShowRegion(readme, $"<!-- quick-start: {source}#{region} -->", source, region);
}
