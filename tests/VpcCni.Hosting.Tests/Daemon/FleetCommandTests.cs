using System.Text.Json;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class FleetCommandTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await DaemonCli.RunAsync(args, (_, _) => Task.FromResult(42), output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("--bogus", "1", "--bogus")]
    [InlineData("--workload", "storm", "--workload")]
    [InlineData("--policies", "upstream,magic", "--policies")]
    [InlineData("--nodes", "0", "--nodes")]
    [InlineData("--instance-type", "m5.huge", "--instance-type")]
    [InlineData("--instance-type", "m5.large:x", "--instance-type")]
    [InlineData("--seed", "-1", "--seed")]
    [InlineData("--pods-per-node", "5", "--pods-per-node")]
    public async Task Fleet_WrongFlag_Exits2NamingTheFlag(string flag, string value, string named)
    {
        var (exit, output, error) = await RunAsync("fleet", "--nodes", "2", flag, value);

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Should().Contain(named);
    }

    [Fact]
    public async Task Fleet_WorkloadAndTrace_Exits2()
    {
        var (exit, _, error) = await RunAsync("fleet", "--workload", "join", "--trace", "x.json");

        exit.Should().Be(2);
        error.Should().Contain("--trace");
    }

    [Fact]
    public async Task Fleet_Json_IsTheResultsContract()
    {
        var svg = Path.Combine(Path.GetTempPath(), $"fleet-{Guid.NewGuid():N}.svg");
        try
        {
            var (exit, output, error) = await RunAsync("fleet", "--workload", "join", "--nodes", "3", "--pods-per-node", "5", "--json", "--seed", "7", "--svg", svg);

            exit.Should().Be(0, error);
            using var doc = JsonDocument.Parse(output);
            doc.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("results");
            var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            results.Select(r => r.GetProperty("policy").GetString()).Should().Equal("upstream", "vpccni");
            foreach (var r in results)
            {
                r.EnumerateObject().Select(p => p.Name).Should().Equal(
                    "policy", "podsPerMinute", "allRunningSeconds", "podWaitP50Seconds", "podWaitP99Seconds", "ec2Calls", "throttledCalls", "avgIdleIps", "firstAddressSeconds");
                r.GetProperty("ec2Calls").GetInt64().Should().BeGreaterThan(0);
            }

            error.Should().Contain("fleet upstream:", "a progress line on stderr");
            File.ReadAllText(svg).Should().Contain("<svg").And.Contain("throttled EC2 calls").And.Contain("vpccni");
        }
        finally
        {
            File.Delete(svg);
        }
    }

    [Fact]
    public async Task Fleet_SameSeed_SameOutput()
    {
        var a = await RunAsync("fleet", "--workload", "scale-up", "--nodes", "5", "--pods", "100", "--warmup", "2m", "--seed", "3", "--json");
        var b = await RunAsync("fleet", "--workload", "scale-up", "--nodes", "5", "--pods", "100", "--warmup", "2m", "--seed", "3", "--json");

        a.Exit.Should().Be(0, a.Err);
        a.Out.Should().Be(b.Out);
    }

    [Fact]
    public async Task Fleet_Burst_TableNamesBothPolicies()
    {
        var (exit, output, error) = await RunAsync("fleet", "--workload", "burst", "--policies", "vpccni");

        exit.Should().Be(0, error);
        output.Should().Contain("100-pod burst").And.Contain("vpccni").And.Contain("105/105");
        output.Should().NotContain("upstream ");
    }
}
