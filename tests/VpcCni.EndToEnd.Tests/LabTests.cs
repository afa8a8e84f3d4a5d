using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>The README's main job as a test: a two-node lab proves the five paths and leaves nothing behind.</summary>
public sealed class LabTests
{
    [Fact]
    public async Task Run_TwoNodes_AllFivePathsPassAndNothingIsLeftBehind()
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("dotnet",
            [Tools.Lab, "run", "--nodes", "2", "--pods-per-node", "4", "--json", "--bin-dir", Tools.LabBin, "--cnidriver", Tools.CniDriver, "--work-dir", "/run/vpclab-e2e"],
            timeout: TimeSpan.FromMinutes(8));

        exit.Should().Be(0, $"lab output:\n{stdout}\n{stderr}");
        var report = JsonNode.Parse(stdout.Split('\n').Last(l => l.StartsWith('{')))!;
        report["passed"]!.GetValue<bool>().Should().BeTrue();
        var paths = report["paths"]!.AsArray();
        foreach (var number in new[] { "1 ", "2 ", "3 ", "4 ", "5 " })
        {
            paths.Where(p => p!["path"]!.GetValue<string>().StartsWith(number, StringComparison.Ordinal)).Should().NotBeEmpty($"path {number}is proved");
        }

        paths.Should().OnlyContain(p => p!["passed"]!.GetValue<bool>());
        paths.Should().Contain(p => p!["path"]!.GetValue<string>().Contains("secondary ENI", StringComparison.Ordinal));
        paths.Where(p => p!["path"]!.GetValue<string>().StartsWith("5 ", StringComparison.Ordinal))
            .Should().OnlyContain(p => p!["seen"]!.GetValue<string>() == p["expected"]!.GetValue<string>());

        Directory.GetFiles("/run/netns", "vpclab-*").Should().BeEmpty("the lab removes every namespace it made");
        Directory.Exists("/run/vpclab-e2e").Should().BeFalse();
    }
}
