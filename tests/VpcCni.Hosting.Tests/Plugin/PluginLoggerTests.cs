using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Plugin;

namespace VpcCni.Hosting.Tests.Plugin;

public sealed class PluginLoggerTests
{
    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 4, 21, 0, 0, TimeSpan.Zero);
    }

    [Fact]
    public void Added_Enabled_OneLineInThePluginLogFormat()
    {
        using var text = new StringWriter();
        var logger = new PluginLogger(text, PluginLogLevel.Information, new FixedTime());

        PluginLog.Added(logger, "c1", "eth0", "default", "web-0", System.Net.IPAddress.Parse("10.0.1.7"), 2, "enitest");
        PluginLog.AddRollback(logger, new InvalidOperationException("veth exists"), "c1", "eth0", "10.0.1.7");

        text.ToString().Should().Be(
            $"2026-12-04T21:00:00.0000000+00:00 Information [{Environment.ProcessId}] ADD c1/eth0 pod default/web-0: 10.0.1.7 table 2 veth enitest{Environment.NewLine}" +
            $"2026-12-04T21:00:00.0000000+00:00 Warning [{Environment.ProcessId}] ADD c1/eth0: wiring failed, releasing 10.0.1.7 | veth exists{Environment.NewLine}");
    }

    [Fact]
    public void Deleted_BelowTheMinimum_NothingWritten()
    {
        using var text = new StringWriter();
        var logger = new PluginLogger(text, PluginLogLevel.Warning, new FixedTime());

        PluginLog.Deleted(logger, "c1", "eth0", 1);

        text.ToString().Should().BeEmpty();
    }

    [Theory]
    [InlineData("trace")]
    [InlineData("DEBUG")]
    [InlineData("info")]
    [InlineData("Information")]
    [InlineData(" warn ")]
    [InlineData("WARNING")]
    [InlineData("error")]
    [InlineData("fatal")]
    [InlineData("CRITICAL")]
    [InlineData("none")]
    [InlineData("verbose")]
    [InlineData(null)]
    public void TryParseLevel_UpstreamNames_SameLevelAsTheDaemonReadsThem(string? name)
    {
        var ours = PluginLogger.TryParseLevel(name, out var level);
        var daemons = UpstreamLogLevel.TryParse(name, out var daemonLevel);

        (ours, ours ? (int)level : -1).Should().Be((daemons, daemons ? (int)daemonLevel : -1));
    }

    [Fact]
    public void Create_LogFile_AppendsLinesToIt()
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-pluginlog-").FullName;
        try
        {
            var path = Path.Combine(directory, "sub", "plugin.log");
            using (var logger = PluginLogger.Create(path, "info", new FixedTime()))
            {
                PluginLog.GarbageCollected(logger, "aws-cni", 2);
            }

            File.ReadAllText(path).Should().EndWith($"Information [{Environment.ProcessId}] GC of network aws-cni: released 2 stale attachment(s){Environment.NewLine}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Version_BuildTimeConstant_TheAssemblyVersion() =>
        VpcCniPluginProgram.Version.Should().Be(typeof(VpcCniPluginProgram).Assembly.GetName().Version!.ToString());
}
