using System.Net;
using Microsoft.Extensions.DependencyInjection;
using VpcCni.Aws.Simulation;
using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>The daemon in an IPv6 cluster (issue #16) on the simulated cloud: /128s from the primary ENI's /80.</summary>
public sealed class IpamdNodeIPv6Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-v6-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DaemonSettings IPv6Settings(string instanceType = "m5.large") => new()
    {
        Cloud = CloudKind.Simulated,
        SimulatedInstanceType = instanceType,
        ManageHostNetwork = false,
        CheckpointPath = Path.Combine(_dir, "ipam.json"),
        Ipam = new IpamOptions { EnableIPv6 = true, EnablePrefixDelegation = true, WarmPrefixTarget = 1 },
    };

    private static AddNetworkRequest Add(string containerId) => new()
    {
        NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = containerId,
    };

    private static DelNetworkRequest Del(string containerId) => new() { NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0" };

    [Fact]
    public async Task AddNetwork_IPv6_128InsideThePrimaryEnis80WithVpcV6CidrsAndNoIPv4()
    {
        await using var provider = new ServiceCollection().AddVpcCniDaemon(IPv6Settings()).BuildServiceProvider();
        var cluster = provider.GetRequiredService<SimulatedCluster>();
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);

        var reply = await node.AddNetworkAsync(Add("c1"), Ct);

        reply.Success.Should().BeTrue(reply.FailureReason);
        var eni = cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces.Should().ContainSingle("IPv6 mode uses the primary ENI only").Subject;
        var prefix = eni.IPv6Prefixes.Should().ContainSingle().Subject;
        prefix.PrefixLength.Should().Be(80);
        eni.SecondaryIPv4.Should().BeEmpty("no IPv4 pool in IPv6 mode");
        eni.IPv4Prefixes.Should().BeEmpty();
        var allocation = reply.IPAllocationMetadata.Should().ContainSingle().Subject;
        allocation.IPv4Addr.Should().BeEmpty();
        prefix.Contains(IPAddress.Parse(allocation.IPv6Addr)).Should().BeTrue();
        allocation.DeviceNumber.Should().Be(0);
        allocation.RouteTableId.Should().Be(254);
        reply.UseExternalSNAT.Should().BeFalse();
        reply.VPCv4CIDRs.Should().BeEmpty();
        reply.VPCv6CIDRs.Should().Equal(cluster.VpcInfo.Ipv6Cidrs.Select(c => c.ToString()));
        (await File.ReadAllTextAsync(Path.Combine(_dir, "ipam.json"), Ct)).Should().Contain($"\"ipv6\":\"{allocation.IPv6Addr}\"");
        node.GetStatus().Ready.Should().BeTrue();
        node.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }).IPv4Addr.Should().Be(allocation.IPv6Addr);
        await node.StopAsync(Ct);
    }

    [Fact]
    public async Task Introspection_IPv6_ShowsThePrefixAndThePodsAddresses()
    {
        var settings = IPv6Settings();
        await using var provider = new ServiceCollection().AddVpcCniDaemon(settings).BuildServiceProvider();
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);
        var address = (await node.AddNetworkAsync(Add("c1"), Ct)).IPAllocationMetadata[0].IPv6Addr;
        var prefix = node.Controller.IPv6!.Prefixes[0].ToString();

        var enis = System.Text.Json.Nodes.JsonNode.Parse(Introspection.Handle("/v1/enis", node, settings).Body)!;
        var pool = System.Text.Json.Nodes.JsonNode.Parse(Introspection.Handle("/v1/pool", node, settings).Body)!;

        var eni = enis["0"]!["ENIs"]!.AsObject().Single().Value!;
        ((bool)eni["IsPrimary"]!).Should().BeTrue();
        var cidr = eni["IPv6Cidrs"]![prefix]!;
        ((string?)cidr["AddressFamily"]).Should().Be("6");
        ((string?)cidr["IPAddresses"]![address]!["IPAMMetadata"]!["k8sPodName"]).Should().Be("c1");
        ((int)enis["0"]!["AssignedIPs"]!).Should().Be(1);
        ((string?)pool["IPv6"]!["Prefixes"]![0]).Should().Be(prefix);
        ((int)pool["IPv6"]!["AssignedIPs"]!).Should().Be(1);
        await node.StopAsync(Ct);
    }

    [Fact]
    public async Task DelNetwork_IPv6_ReleasesTheAddressAndAnUnknownPodIsASuccess()
    {
        await using var provider = new ServiceCollection().AddVpcCniDaemon(IPv6Settings()).BuildServiceProvider();
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);
        var address = (await node.AddNetworkAsync(Add("c1"), Ct)).IPAllocationMetadata[0].IPv6Addr;
        (await node.AddNetworkAsync(Add("c1"), Ct)).IPAllocationMetadata[0].IPv6Addr.Should().Be(address, "a repeated ADD keeps its address");

        var released = await node.DelNetworkAsync(Del("c1"), Ct);
        var again = await node.DelNetworkAsync(Del("c1"), Ct);

        released.Success.Should().BeTrue();
        released.IPAllocationMetadata.Should().ContainSingle().Which.IPv6Addr.Should().Be(address);
        again.Success.Should().BeTrue();
        again.IPAllocationMetadata.Should().BeEmpty();
        node.Controller.IPv6!.AssignedCount.Should().Be(0);
        (await File.ReadAllTextAsync(Path.Combine(_dir, "ipam.json"), Ct)).Should().NotContain(address);
        await node.StopAsync(Ct);
    }

    [Fact]
    public async Task Restart_IPv6_AllocationRestoredFromTheCheckpoint()
    {
        var settings = IPv6Settings();
        string address;
        SimulatedCluster cluster;
        await using (var first = new ServiceCollection().AddVpcCniDaemon(settings).BuildServiceProvider())
        {
            cluster = first.GetRequiredService<SimulatedCluster>();
            var node = first.GetRequiredService<IpamdNode>();
            await node.StartAsync(Ct);
            address = (await node.AddNetworkAsync(Add("c1"), Ct)).IPAllocationMetadata[0].IPv6Addr;
            await node.StopAsync(Ct);
        }

        // The same cloud, a new daemon process.
        await using var second = new ServiceCollection().AddSingleton(cluster).AddVpcCniDaemon(settings).BuildServiceProvider();
        var restarted = second.GetRequiredService<IpamdNode>();
        await restarted.StartAsync(Ct);

        restarted.Controller.IPv6!.Find(new AttachmentKey("aws-cni", "c1", "eth0"))!.Address.ToString().Should().Be(address);
        cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces[0].IPv6Prefixes.Should().ContainSingle("the prefix EC2 shows is kept, not asked for again");
        await restarted.StopAsync(Ct);
    }

    [Fact]
    public async Task Start_IPv6OnXenInstance_FailsNamingEnableIPv6()
    {
        await using var provider = new ServiceCollection().AddVpcCniDaemon(IPv6Settings("m4.large")).BuildServiceProvider();
        var node = provider.GetRequiredService<IpamdNode>();

        var act = () => node.StartAsync(Ct);

        (await act.Should().ThrowAsync<InvalidSettingException>()).Which.Name.Should().Be("ENABLE_IPv6");
    }

    [Fact]
    public async Task GetNetworkPolicyConfigs_IPv6_NodeIPv6IsThePrimaryEnisAddress()
    {
        var settings = IPv6Settings();
        var services = new ServiceCollection();
        services.AddSingleton(SimulatedCluster.Create("m5.large", 1, 20, new SimulatedVpcOptions { AssignIpv6AddressOnCreation = true }));
        await using var provider = services.AddVpcCniDaemon(settings).BuildServiceProvider();
        var cluster = provider.GetRequiredService<SimulatedCluster>();
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);

        var reply = node.GetNetworkPolicyConfigs();

        var expected = cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces[0].IPv6Addresses.Should().ContainSingle().Subject;
        reply.NodeIPv6.Should().Be(expected.ToString());
        reply.NodeIPv4.Should().Be(cluster.Nodes[0].PrivateIPv4.ToString());
        await node.StopAsync(Ct);
    }

    [Fact]
    public void FromEnvironment_IPv6Cluster_Bound()
    {
        var settings = DaemonSettings.FromEnvironment(EnvironmentReader.From(new Dictionary<string, string>
        {
            ["ENABLE_IPv4"] = "false", ["ENABLE_IPv6"] = "true", ["ENABLE_PREFIX_DELEGATION"] = "true", ["WARM_PREFIX_TARGET"] = "1",
        }));

        settings.Ipam.EnableIPv6.Should().BeTrue();
    }
}
