using System.Text.Json.Nodes;
using VpcCni.EndToEnd.Tests.Support;

namespace VpcCni.EndToEnd.Tests;

/// <summary>
/// samples/MinimalCniPlugin, a CNI plugin on VpcCni.Abstractions + VpcCni.Linux restored from the local feed
/// (scripts/pack.sh), driven through libcni in namespaces of its own; and its README's code kept equal to the source.
/// A missing artifact fails (scripts/test.sh packs and builds the sample before the tests).
/// </summary>
public sealed class MinimalCniPluginSampleTests
{
    private const string Address = "10.99.0.2";

    [Fact]
    public void Readme_QuickStart_IsTheCompiledProgramRegion() =>
        ReadmeCode.ShouldShowRegion("samples/MinimalCniPlugin/README.md", "<!-- quick-start: Program.cs -->", "samples/MinimalCniPlugin/Program.cs", "quick-start");

    [Fact]
    public void Sample_Artifact_WasBuiltFromThisRunsPackages()
    {
        var deps = File.ReadAllText(Path.Combine(Tools.MinimalCniPlugin, "minimal-ptp.deps.json"));
        var version = Tools.FeedVersion;

        // Package entries ("VpcCni.Linux/<version>") rather than project references: the sample restored them from the feed.
        deps.Should().Contain($"\"VpcCni.Abstractions/{version}\"").And.Contain($"\"VpcCni.Linux/{version}\"");
        deps.Should().NotContain("VpcCni.Ipam").And.NotContain("VpcCni.Aws").And.NotContain("VpcCni.Hosting");
    }

    [Fact]
    public async Task MinimalPtp_AddCheckDelThroughLibcni_WiresAndUnwiresThePod()
    {
        var pluginDirectory = Tools.MinimalCniPlugin;
        var driver = Tools.CniDriver;
        var tag = $"vpccni-sample-{Environment.ProcessId}";
        string node = tag + "-node", pod = tag + "-pod";
        var work = Directory.CreateTempSubdirectory(tag + "-").FullName;
        var conflist = Path.Combine(work, "sample.conflist");
        await File.WriteAllTextAsync(conflist, $$"""
            {"cniVersion":"1.0.0","name":"sample","plugins":[{"type":"minimal-ptp","address":"{{Address}}","mtu":1500,"vethPrefix":"smp"}]}
            """);
        try
        {
            foreach (var ns in new[] { node, pod })
            {
                await Ip("netns", "add", ns);
                await Ip("-n", ns, "link", "set", "lo", "up");
            }

            var add = await Cni("add");
            add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
            var result = add["result"]!;
            result["ips"]![0]!["address"]!.GetValue<string>().Should().Be($"{Address}/32");
            result["ips"]![0]!["gateway"]!.GetValue<string>().Should().Be("169.254.1.1");
            result["interfaces"]![1]!["sandbox"]!.GetValue<string>().Should().Be($"/run/netns/{pod}");
            var hostVeth = result["interfaces"]![0]!["name"]!.GetValue<string>();
            hostVeth.Should().StartWith("smp").And.HaveLength(14);

            (await Ip("-n", pod, "-4", "-o", "addr", "show", "dev", "eth0")).Should().Contain($"{Address}/32");
            (await Ip("-n", pod, "route", "show")).Should().Contain("default via 169.254.1.1 dev eth0");
            (await Ip("-n", node, "route", "show")).Should().Contain($"{Address} dev {hostVeth} scope link");
            (await Ip("-n", node, "rule", "show")).Should().Contain($"to {Address} lookup main");

            var check = await Cni("check");
            check["ok"]!.GetValue<bool>().Should().BeTrue(check.ToJsonString());

            var del = await Cni("del");
            del["ok"]!.GetValue<bool>().Should().BeTrue(del.ToJsonString());
            (await Tools.RunAsync("ip", ["-n", node, "link", "show", "dev", hostVeth])).ExitCode.Should().NotBe(0, "DEL removes the host veth");
            (await Ip("-n", node, "rule", "show")).Should().NotContain(Address);

            var again = await Cni("del");
            again["ok"]!.GetValue<bool>().Should().BeTrue("DEL is idempotent: " + again.ToJsonString());
        }
        finally
        {
            await Tools.RunAsync("ip", ["netns", "del", pod]);
            await Tools.RunAsync("ip", ["netns", "del", node]);
            Directory.Delete(work, recursive: true);
        }

        async Task<JsonNode> Cni(string verb)
        {
            var (_, stdout, stderr) = await Tools.RunAsync("ip",
            [
                "netns", "exec", node, driver, verb, "-conflist", conflist, "-plugin-dir", pluginDirectory,
                "-cache-dir", Path.Combine(work, "cache"), "-container-id", tag, "-ifname", "eth0", "-netns", $"/run/netns/{pod}",
                "-args", $"IgnoreUnknown=1;K8S_POD_NAMESPACE=sample;K8S_POD_NAME={tag}",
            ]);
            return JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"cnidriver printed nothing: {stderr}");
        }
    }

    private static async Task<string> Ip(params string[] args)
    {
        var (exit, stdout, stderr) = await Tools.RunAsync("ip", args);
        return exit == 0 ? stdout : throw new InvalidOperationException($"ip {string.Join(' ', args)}: {stderr}");
    }
}
