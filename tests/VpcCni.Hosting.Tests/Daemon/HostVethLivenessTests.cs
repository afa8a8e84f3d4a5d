using System.Net;
using System.Net.Sockets;
using VpcCni.Hosting.Daemon;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>The daemon's restore evidence, in a scratch namespace of its own (never the root namespace).</summary>
[Trait("Category", "Privileged")]
public sealed class HostVethLivenessTests
{
    private static AllocationRecord Record(string name, string address) =>
        new(new AttachmentKey("aws-cni", "c-" + name, "eth0"), PodAddress.From(IPAddress.Parse(address)), 0, new PodMetadata("default", name));

    [Fact]
    public async Task Restore_VethPrefixChangedAndGonePodRules_LivePodKeptAndGonePodRulesRemoved()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var name = $"vch{Environment.ProcessId}-lv";
        NetworkNamespace.Create(name);
        try
        {
            using var ns = NetworkNamespace.OpenByName(name);
            using var client = RtNetlinkClient.Open(ns);
            client.CreateLink(new VethCreateRequest(PodNetworkDatapath.HostVethName("old", "default", "web"), "peer0"));
            var goneHost = IPNetwork.Parse("10.0.2.30/32");
            client.AddRule(new RoutingRule(AddressFamily.InterNetwork) { Priority = 512, Destination = goneHost, Table = RouteTable.Main });
            client.AddRule(new RoutingRule(AddressFamily.InterNetwork) { Priority = 1536, Source = goneHost, Table = 3 });
            using var pods = new PodHostState(ns);
            IPodLivenessEvidence liveness = new LinuxNodeNetwork.HostVethLiveness(pods);

            liveness.IsPodGone(Record("web", "10.0.2.31")).Should().BeFalse("its veth exists under the previous prefix");
            var gone = Record("gone", "10.0.2.30");
            liveness.IsPodGone(gone).Should().BeTrue();
            await liveness.OnGonePodDroppedAsync(gone, TestContext.Current.CancellationToken);
            client.GetRules().Should().NotContain(r => goneHost.Equals(r.Source) || goneHost.Equals(r.Destination));
        }
        finally
        {
            NetworkNamespace.Delete(name);
        }
    }
}
