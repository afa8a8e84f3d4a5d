using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class DaemonSettingsPodWiringTests
{
    private static DaemonSettings Read(string? value) =>
        DaemonSettings.FromEnvironment(EnvironmentReader.From(value is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["VPC_CNI_DAEMON_POD_WIRING"] = value }));

    [Fact]
    public void FromEnvironment_PodWiringUnset_PluginWiresAsUpstream()
    {
        Read(null).WirePods.Should().BeFalse();
    }

    [Fact]
    public void FromEnvironment_PodWiringTrue_DaemonWires()
    {
        Read("true").WirePods.Should().BeTrue();
    }

    [Fact]
    public void FromEnvironment_PodWiringNotABoolean_ErrorNamesVariable()
    {
        var act = () => Read("sometimes");

        act.Should().Throw<InvalidSettingException>().Where(e => e.Name == "VPC_CNI_DAEMON_POD_WIRING");
    }
}
