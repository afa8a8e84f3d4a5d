using VpcCni.Configuration;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>ENABLE_V6_EGRESS: accepted, and bound for the host setup (IPv6 forwarding for egress-cni's v6if0).</summary>
public sealed class DaemonSettingsV6EgressTests
{
    private static EnvironmentReader Env(string? value) =>
        EnvironmentReader.From(value is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["ENABLE_V6_EGRESS"] = value });

    [Fact]
    public void FromEnvironment_V6EgressUnset_Off()
    {
        DaemonSettings.FromEnvironment(Env(null)).EnableV6Egress.Should().BeFalse();
    }

    [Fact]
    public void FromEnvironment_V6EgressTrue_BoundAndNotRefused()
    {
        var env = Env("true");

        var refuse = () => UpstreamSettings.ThrowIfUnsupported(env);

        refuse.Should().NotThrow();
        DaemonSettings.FromEnvironment(env).EnableV6Egress.Should().BeTrue();
    }
}
