using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>
/// samples/IpamEmbedder, the IPAM engine in a generic host of its own on VpcCni.Ipam + VpcCni.Aws restored from the
/// local feed (scripts/pack.sh), run as a process; and its README's code kept equal to the source. A missing artifact
/// fails (scripts/test.sh packs and builds the sample before the tests).
/// </summary>
public sealed class IpamEmbedderSampleTests
{
    [Fact]
    public void Readme_QuickStart_IsTheCompiledProgramRegion() =>
        ReadmeCode.ShouldShowRegion("samples/IpamEmbedder/README.md", "<!-- quick-start: Program.cs -->", "samples/IpamEmbedder/Program.cs", "quick-start");

    [Fact]
    public void Sample_Artifact_RestoredVpcCniIpamAndAwsAsPackagesAndNothingOfTheDaemon()
    {
        var deps = JsonNode.Parse(File.ReadAllText(Path.Combine(Tools.IpamEmbedder, "ipam-embedder.deps.json")))!;
        var libraries = deps["libraries"]!.AsObject();
        var version = Tools.FeedVersion;

        // "package" entries at this run's version: restored from the feed, not built from project references.
        foreach (var package in new[] { "VpcCni.Ipam", "VpcCni.Aws" })
        {
            libraries.ContainsKey($"{package}/{version}").Should().BeTrue($"the sample depends on {package} {version}");
            libraries[$"{package}/{version}"]!["type"]!.GetValue<string>().Should().Be("package", $"{package} {version} comes from artifacts/feed");
        }

        libraries.Where(l => l.Value!["type"]!.GetValue<string>() == "project").Select(l => l.Key)
            .Should().Equal([$"ipam-embedder/1.0.0"], "the sample itself is the only project");
        libraries.Select(l => l.Key).Should().NotContain(k => k.StartsWith("VpcCni.Hosting/", StringComparison.Ordinal) || k.StartsWith("VpcCni.Linux/", StringComparison.Ordinal),
            "embedding the engine loads neither the daemon's composition nor the Linux datapath");
    }

    [Fact]
    public async Task Sample_Run_AssignsReleasesRestartsAndFindsTheHeldAddressesRestored()
    {
        var (exit, stdout, stderr) = await Tools.RunAsync(Path.Combine(Tools.IpamEmbedder, "ipam-embedder"), [], timeout: TimeSpan.FromMinutes(2), cancellationToken: TestContext.Current.CancellationToken);

        exit.Should().Be(0, $"stdout:\n{stdout}\nstderr:\n{stderr}");
        var lines = stdout.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        lines.Should().HaveCount(9, stdout);
        lines[0].Should().MatchRegex(@"^assigned 10(\.\d+){3} to default/web-0$");
        lines[1].Should().MatchRegex(@"^assigned 10(\.\d+){3} to default/web-1$");
        lines[2].Should().MatchRegex(@"^assigned 10(\.\d+){3} to default/db-0$");
        var address = (string line) => line.Split(' ')[1];
        lines[3].Should().Be($"released {address(lines[1])} from default/web-1");
        lines[4].Should().Be("first host stopped; starting a second host on the same backing store");
        lines[5..8].Should().Equal(
            $"restored {address(lines[0])} for default/web-0",
            $"restored {address(lines[2])} for default/db-0",
            "default/web-1 holds nothing after the restart");
        lines[8].Should().Be("ok: 2 assignments survived the restart");
        new[] { address(lines[0]), address(lines[1]), address(lines[2]) }.Should().OnlyHaveUniqueItems();
    }
}
