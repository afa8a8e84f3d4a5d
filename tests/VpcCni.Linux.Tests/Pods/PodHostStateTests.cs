using System.Net;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Pods;

public sealed class PodHostStateNamingTests
{
    [Theory]
    [InlineData("enic440f455693", true)] // the default prefix
    [InlineData("calic440f455693", true)] // another prefix (AWS_VPC_K8S_CNI_VETHPREFIX changed)
    [InlineData("xc440f455693", true)]
    [InlineData("enic440f455694", false)]
    [InlineData("c440f45569", false)]
    public void IsHostVethOf_AnyPrefix_MatchesTheHashSuffix(string linkName, bool expected) =>
        PodHostState.IsHostVethOf(linkName, "default", "nginx").Should().Be(expected);
}

[Trait("Category", "Privileged")]
public sealed class PodHostStateTests
{
    [Fact]
    public void HasHostVeth_VethUnderAnotherPrefix_IsFound()
    {
        Privileged.Require();
        using var node = new TestNamespace("ph");
        var oldName = PodNetworkDatapath.HostVethName("abc", "default", "web");
        node.Client.CreateLink(new VethCreateRequest(oldName, "peer0"));
        using var state = new PodHostState(node.Handle);

        state.HasHostVeth("default", "web").Should().BeTrue("the pod was wired when the prefix was 'abc'");
        state.HasHostVeth("default", "gone").Should().BeFalse();
    }

    [Fact]
    public void RemovePodRules_DroppedPod_DeletesIts512And1536RulesOnly()
    {
        Privileged.Require();
        using var node = new TestNamespace("ph");
        var gone = IPNetwork.Parse("10.0.2.20/32");
        var live = IPNetwork.Parse("10.0.2.21/32");
        node.Client.AddRule(new RoutingRule(System.Net.Sockets.AddressFamily.InterNetwork) { Priority = 512, Destination = gone, Table = RouteTable.Main });
        node.Client.AddRule(new RoutingRule(System.Net.Sockets.AddressFamily.InterNetwork) { Priority = 1536, Source = gone, Table = 2 });
        node.Client.AddRule(new RoutingRule(System.Net.Sockets.AddressFamily.InterNetwork) { Priority = 1536, Source = gone, Table = 10101 });
        node.Client.AddRule(new RoutingRule(System.Net.Sockets.AddressFamily.InterNetwork) { Priority = 512, Destination = live, Table = RouteTable.Main });
        node.Client.AddRule(new RoutingRule(System.Net.Sockets.AddressFamily.InterNetwork) { Priority = 1536, Source = live, Table = 2 });
        using var state = new PodHostState(node.Handle);

        state.RemovePodRules(IPAddress.Parse("10.0.2.20")).Should().Be(3);
        var rules = node.Exec("ip", "rule", "show");
        rules.Should().NotContain("10.0.2.20 ").And.NotContain("10.0.2.20\n");
        rules.Should().Contain("512:\tfrom all to 10.0.2.21 lookup main").And.Contain("1536:\tfrom 10.0.2.21 lookup 2");
        state.RemovePodRules(IPAddress.Parse("10.0.2.20")).Should().Be(0, "idempotent");
    }
}
