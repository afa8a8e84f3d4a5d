using System.Text;
using VpcCni.Aws.Simulation;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>A prefix-delegation node on a subnet fragmented into unusable /28s: ADDs are served from /32s, the fallback
/// shows in introspection, and once the subnet has free /28s again new growth uses prefixes.</summary>
public sealed class IpamdNodePrefixFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddNetworkAsync_FragmentedThenDefragmentedSubnet_ServedFromSlash32sThenPrefixesAgain()
    {
        var cluster = SimulatedCluster.Create("m5.4xlarge");
        var fragmentation = cluster.Vpc.FragmentSubnet(cluster.Subnet.SubnetId);
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(Directory.CreateTempSubdirectory("vpccni-pdfrag-").FullName, "ipam.json"),
            Ipam = new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1, InsufficientCapacityBackoff = TimeSpan.FromSeconds(1) },
        };
        await using var node = DaemonNodes.Create(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);
        await node.StartAsync(Ct);

        for (var i = 0; i < 10; i++)
        {
            var add = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = $"c{i}", IfName = "eth0" }, Ct);
            add.Success.Should().BeTrue(add.FailureReason);
        }

        Enis(cluster).SelectMany(e => e.IPv4Prefixes).Should().BeEmpty("no /28 was free");
        node.Controller.PrefixFallback.EnisInFallback.Should().BeGreaterThan(0);
        var pool = Encoding.UTF8.GetString(Introspection.Handle("/v1/pool", node, settings).Body);
        pool.Should().Contain("\"PrefixFallback\":{\"EnisInFallback\":1,\"Fallbacks\":1,\"Returns\":0}");
        pool.Should().Contain($"{{\"SubnetId\":\"{cluster.Subnet.SubnetId}\",\"FreePrefixBlocks\":0,");

        fragmentation.Defragment();
        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
        for (var i = 10; i < 40 && !Enis(cluster).Any(e => e.IPv4Prefixes.Count > 0); i++)
        {
            var add = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = $"c{i}", IfName = "eth0" }, Ct);
            add.Success.Should().BeTrue(add.FailureReason);
            await Task.Delay(50, Ct);
        }

        Enis(cluster).SelectMany(e => e.IPv4Prefixes).Should().NotBeEmpty("the growth after the backoff interval got a /28");

        // The cloud shows the /28 as soon as EC2 granted it; the pool records the return when the grow completes.
        for (var waited = 0; waited < 100 && node.Controller.PrefixFallback.Returns == 0; waited++)
        {
            await Task.Delay(100, Ct);
        }

        node.Controller.PrefixFallback.Returns.Should().BeGreaterThan(0);
        node.Controller.PrefixFallback.EnisInFallback.Should().Be(0);
    }

    private static IReadOnlyList<SimulatedEni> Enis(SimulatedCluster cluster) =>
        [.. cluster.Vpc.NetworkInterfaces.Where(e => e.Attachment?.InstanceId == cluster.Nodes[0].InstanceId)];
}
