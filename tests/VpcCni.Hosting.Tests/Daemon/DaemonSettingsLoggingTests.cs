using FluentAssertions;
using Microsoft.Extensions.Logging;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using Xunit;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>AWS_VPC_K8S_CNI_LOGLEVEL and AWS_VPC_K8S_CNI_LOG_FILE read with upstream's spellings and defaults.</summary>
public sealed class DaemonSettingsLoggingTests
{
    private static DaemonSettings Read(params (string Name, string Value)[] values) =>
        DaemonSettings.FromEnvironment(EnvironmentReader.From(values.ToDictionary(v => v.Name, v => v.Value)));

    [Theory]
    [InlineData("WARN", LogLevel.Warning)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData("DEBUG", LogLevel.Debug)]
    [InlineData("Info", LogLevel.Information)]
    [InlineData("ERROR", LogLevel.Error)]
    [InlineData("fatal", LogLevel.Critical)]
    [InlineData("Information", LogLevel.Information)]
    [InlineData("Warning", LogLevel.Warning)]
    [InlineData("Trace", LogLevel.Trace)]
    public void FromEnvironment_UpstreamLogLevelName_MapsToLevel(string value, LogLevel expected)
    {
        Read(("AWS_VPC_K8S_CNI_LOGLEVEL", value)).LogLevel.Should().Be(expected);
    }

    [Fact]
    public void FromEnvironment_LogLevelUnset_DebugAsUpstream()
    {
        Read().LogLevel.Should().Be(LogLevel.Debug);
    }

    [Theory]
    [InlineData("verbose")]
    [InlineData("3")]
    public void FromEnvironment_UnknownLogLevel_ErrorNamesVariable(string value)
    {
        var act = () => Read(("AWS_VPC_K8S_CNI_LOGLEVEL", value));

        act.Should().Throw<InvalidSettingException>().Where(e => e.Name == "AWS_VPC_K8S_CNI_LOGLEVEL");
    }

    [Theory]
    [InlineData("stdout")]
    [InlineData("stderr")]
    [InlineData("/var/log/vpc/ipamd.log")]
    public void FromEnvironment_LogFile_TakenAsGiven(string value)
    {
        Read(("AWS_VPC_K8S_CNI_LOG_FILE", value)).LogFile.Should().Be(value);
    }

    [Fact]
    public void FromEnvironment_LogFileUnset_UpstreamPath()
    {
        Read().LogFile.Should().Be("/host/var/log/aws-routed-eni/ipamd.log");
    }
}
