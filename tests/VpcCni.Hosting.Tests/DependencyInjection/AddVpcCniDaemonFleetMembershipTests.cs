using Microsoft.Extensions.DependencyInjection;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Hosting.Tests.Kubernetes;

namespace VpcCni.Hosting.Tests.DependencyInjection;

/// <summary>AddVpcCniDaemon registers the node's place in the fleet (IFleetMembership) with the Kubernetes API, unless VPC_CNI_EC2_FLEET_SCHEDULE=false.</summary>
public sealed class AddVpcCniDaemonFleetMembershipTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-fleet-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DaemonSettings Settings(Uri? kubeServer, string nodeName = "node-1", bool fleetSchedule = true) => new()
    {
        Cloud = CloudKind.Simulated,
        ManageHostNetwork = false,
        CheckpointPath = Path.Combine(_dir, "ipam.json"),
        Kubernetes = kubeServer is null ? new KubernetesApiSettings() : new KubernetesApiSettings { NodeName = nodeName }.WithServer(kubeServer),
        Ec2FleetSchedule = fleetSchedule,
    };

    private static ServiceProvider Build(DaemonSettings settings, IEniProvider? cloud = null)
    {
        var services = new ServiceCollection();
        if (cloud is not null)
        {
            services.AddSingleton(cloud);
        }

        services.AddSingleton(TimeProvider.System).AddSingleton<INodeNetwork>(new NoNodeNetwork()).AddVpcCniDaemon(settings);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task AddVpcCniDaemon_KubernetesApi_RegistersTheMembershipOnce()
    {
        await using var provider = Build(Settings(new Uri("http://127.0.0.1:9")));

        var membership = provider.GetService<IFleetMembership>();

        membership.Should().BeOfType<KubernetesFleetMembership>();
        membership.Should().BeSameAs(provider.GetRequiredService<KubernetesFleetMembership>());
        membership!.Current.Should().BeNull("nothing is listed before the node starts");
    }

    [Fact]
    public async Task AddVpcCniDaemon_FleetScheduleOff_RegistersNoMembership()
    {
        await using var provider = Build(Settings(new Uri("http://127.0.0.1:9"), fleetSchedule: false));

        provider.GetService<IFleetMembership>().Should().BeNull("VPC_CNI_EC2_FLEET_SCHEDULE=false");
    }

    [Fact]
    public async Task AddVpcCniDaemon_NoKubernetesApi_RegistersNoMembership()
    {
        await using var provider = Build(Settings(kubeServer: null));

        provider.GetService<IFleetMembership>().Should().BeNull("without the API there is no node list");
    }

    [Fact]
    public async Task IpamdNodeStartAsync_KubernetesApi_StartsTheMembership()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        await using var api = new KubernetesApiEmulator(cluster.Vpc, "http://127.0.0.1:0/");
        api.Start();
        var nodeName = api.NodeName(cluster.Nodes[0]);
        await using var provider = Build(
            Settings(api.BaseAddress, nodeName) with { Kubernetes = new KubernetesApiSettings { NodeName = nodeName, InitialSyncTimeout = TimeSpan.FromSeconds(30) }.WithServer(api.BaseAddress) },
            new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId));
        var node = provider.GetRequiredService<IpamdNode>();

        await node.StartAsync(Ct);

        var membership = provider.GetRequiredService<IFleetMembership>();
        await InformerTests.WaitUntilAsync(() => membership.Current is not null, "the node's position");
        membership.Current.Should().Be(new FleetPosition(0, 1), "the cluster has this one node");
        await node.StopAsync(CancellationToken.None);
    }
}
