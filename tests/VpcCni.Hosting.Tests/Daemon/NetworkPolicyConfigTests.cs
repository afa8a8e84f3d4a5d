using Grpc.Core;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// NETWORK_POLICY_ENFORCING_MODE on the daemon side: validated at start, returned in AddNetwork/DelNetwork replies and by
/// rpc.ConfigServerBackend.GetNetworkPolicyConfigs on the ipamd socket (reference §5.1).
/// </summary>
public sealed class NetworkPolicyConfigTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CallOptions Options() => new(deadline: DateTime.UtcNow.AddSeconds(10));

    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("none", "none")]
    [InlineData("strict", "strict")]
    [InlineData("STRICT", "STRICT")]
    [InlineData("Standard", "Standard")]
    public void FromEnvironment_NetworkPolicyMode_IsPassedThroughAsSpelled(string? value, string expected)
    {
        var env = new Dictionary<string, string>();
        if (value is not null)
        {
            env["NETWORK_POLICY_ENFORCING_MODE"] = value;
        }

        DaemonSettings.FromEnvironment(EnvironmentReader.From(env)).NetworkPolicyMode.Should().Be(expected);
    }

    [Theory]
    [InlineData("audit")]
    [InlineData("strict ")]
    [InlineData("enabled")]
    public void FromEnvironment_InvalidNetworkPolicyMode_StopsNamingTheVariable(string value)
    {
        var act = () => DaemonSettings.FromEnvironment(EnvironmentReader.From(new Dictionary<string, string> { ["NETWORK_POLICY_ENFORCING_MODE"] = value }));

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be("NETWORK_POLICY_ENFORCING_MODE");
    }

    [Theory]
    [InlineData("")]
    [InlineData("strict")]
    [InlineData("Standard")]
    public async Task AddAndDelNetwork_ConfiguredMode_IsInBothReplies(string mode)
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(null, mode, Ct);
        using var invoker = Http2UnaryCallInvoker.ForAddress(daemon.SocketPath);
        var client = new CNIBackend.CNIBackendClient(invoker);

        var added = client.AddNetwork(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = "p1" }, Options());
        var deleted = client.DelNetwork(new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = "p1" }, Options());

        added.Success.Should().BeTrue(added.FailureReason);
        added.NetworkPolicyMode.Should().Be(mode);
        deleted.Success.Should().BeTrue();
        deleted.NetworkPolicyMode.Should().Be(mode);
    }

    [Fact]
    public async Task GetNetworkPolicyConfigs_OnTheIpamdSocket_AnswersTheModeAndTheNodesIdentity()
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(null, "strict", Ct);
        using var invoker = Http2UnaryCallInvoker.ForAddress(daemon.SocketPath);
        var client = new ConfigServerBackend.ConfigServerBackendClient(invoker);

        var reply = client.GetNetworkPolicyConfigs(new Google.Protobuf.WellKnownTypes.Empty(), Options());

        var instance = daemon.Node.Instance!;
        reply.NetworkPolicyMode.Should().Be("strict");
        reply.MultiNICEnabled.Should().BeFalse();
        reply.NodeIPv4.Should().Be(instance.PrimaryIPv4.ToString());
        reply.NodeIPv6.Should().BeEmpty("IPv4 clusters only");
        reply.InstanceID.Should().Be(instance.InstanceId).And.StartWith("i-");
        reply.Region.Should().Be("us-west-2", "the simulated VPC's zone is {0}", instance.AvailabilityZone);
    }

    [Theory]
    [InlineData("us-west-2a", "us-west-2")]
    [InlineData("us-west-2-lax-1a", "us-west-2")]
    [InlineData("us-gov-west-1b", "us-gov-west-1")]
    [InlineData("us-east-1-wl1-bos-wlz-1", "us-east-1")]
    [InlineData("ap-southeast-1c", "ap-southeast-1")]
    [InlineData("nowhere", "")]
    public void RegionOf_AvailabilityZone_IsItsRegion(string zone, string region) =>
        IpamdNode.RegionOf(zone).Should().Be(region);
}
