using FluentAssertions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using Xunit;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class FileLoggerProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Log_PathInMissingDirectory_CreatesItAndAppendsLines()
    {
        var path = Path.Combine(_dir, "aws-routed-eni", "ipamd.log");
        using (var provider = FileLoggerProvider.Open(path, new FakeTimeProvider()))
        {
            provider.CreateLogger("ipamd").LogWarning("pool is short");
        }

        using (var provider = FileLoggerProvider.Open(path, new FakeTimeProvider()))
        {
            provider.CreateLogger("ipamd").LogInformation("second start");
        }

        var lines = File.ReadAllLines(path);
        lines.Should().HaveCount(2);
        lines[0].Should().Contain("Warning ipamd: pool is short");
        lines[1].Should().Contain("second start");
    }

    [Fact]
    public void Log_FileReachesLimit_RotatesKeepingFiveBackups()
    {
        var path = Path.Combine(_dir, "ipamd.log");
        using (var provider = FileLoggerProvider.Open(path, maxBytes: 10, new FakeTimeProvider()))
        {
            var logger = provider.CreateLogger("c");
            for (var i = 0; i < 8; i++)
            {
                logger.LogInformation("line {I}", i);
            }
        }

        Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(
            ["ipamd.log", "ipamd.log.1", "ipamd.log.2", "ipamd.log.3", "ipamd.log.4", "ipamd.log.5"]);
        File.ReadAllText(path + ".1").Should().Contain("line 7");
    }

    [Fact]
    public void Open_UnwritablePath_ErrorNamesVariable()
    {
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "");

        var act = () => FileLoggerProvider.Open(Path.Combine(blocker, "ipamd.log"), new FakeTimeProvider());

        act.Should().Throw<InvalidSettingException>().Where(e => e.Name == "AWS_VPC_K8S_CNI_LOG_FILE");
    }
}
