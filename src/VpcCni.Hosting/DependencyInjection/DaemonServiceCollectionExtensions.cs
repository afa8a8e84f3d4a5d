using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Aws;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Ipam;
using VpcCni.Linux;
using VpcCni.Linux.Host;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;

namespace VpcCni.Hosting;

/// <summary>
/// The node daemon (vpc-cni-ipamd) composed from the packages' own registrations: the cloud
/// (<see cref="AwsServiceCollectionExtensions.AddVpcCniAws(IServiceCollection, Action{Aws.Ec2.Ec2ProviderOptions}?, Func{string, string?}?)"/>
/// or <see cref="AwsServiceCollectionExtensions.AddVpcCniSimulatedCloud(IServiceCollection, string)"/>), the IPAM engine
/// (<see cref="IpamServiceCollectionExtensions.AddVpcCniIpam(IServiceCollection, Action{IpamOptions}?)"/>, with the
/// backing store as its durable record) and the Linux datapath
/// (<see cref="LinuxServiceCollectionExtensions.AddVpcCniLinuxDatapath(IServiceCollection, Action{LinuxDatapathOptions}?)"/>).
/// </summary>
public static class DaemonServiceCollectionExtensions
{
    /// <summary>
    /// The node daemon without its server: <paramref name="settings"/>, the cloud they name (<see cref="CloudKind.Aws"/>
    /// reading <paramref name="variables"/>, the process environment by default; <see cref="CloudKind.Simulated"/>), the
    /// engine, the host datapath (<see cref="LinuxNodeNetwork"/>, or <see cref="NoNodeNetwork"/> when
    /// <see cref="DaemonSettings.ManageHostNetwork"/> is off), <see cref="IpamdMetrics"/> and the <see cref="IpamdNode"/>
    /// built from them. Ports are TryAdd, so an embedder's own <see cref="IEniProvider"/> or <see cref="INodeNetwork"/>
    /// registered first wins; <paramref name="settings"/> replace any registered before, since everything here must
    /// agree on them. The container owns what it builds: disposing it disposes the node, the engine, the datapath and
    /// the cloud clients, each once. The node drives the engine (<see cref="IpamdNode.StartAsync"/>,
    /// <see cref="IpamdNode.StopAsync"/>); a host that also starts the engine's hosted service changes nothing.
    /// </summary>
    public static IServiceCollection AddVpcCniDaemon(this IServiceCollection services, DaemonSettings settings, Func<string, string?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.Replace(ServiceDescriptor.Singleton(settings));
        if (settings.Cloud == CloudKind.Simulated)
        {
            services.AddVpcCniSimulatedCloud(settings.SimulatedInstanceType);
        }
        else
        {
            services.AddVpcCniAws(variables: variables);
        }

        // Pod veths live in the daemon's namespace whether or not it manages the host network (the reaper); the other
        // datapath parts are built only when the host network is managed.
        services.AddVpcCniLinuxDatapath(o =>
        {
            o.VethPrefix = settings.VethPrefix;
            o.NetfilterBackend = settings.NetfilterBackend;
        });
        if (settings.ManageHostNetwork)
        {
            services.TryAddSingleton<INodeNetwork>(sp => new LinuxNodeNetwork(
                sp.GetRequiredService<DaemonSettings>(),
                sp.GetRequiredService<HostNetworkDatapath>(),
                sp.GetRequiredService<SnatReconciler>(),
                sp.GetRequiredService<PodHostState>()));
        }
        else
        {
            services.TryAddSingleton<INodeNetwork, NoNodeNetwork>();
        }

        services.TryAddSingleton<IEniLifecycleHook>(sp => sp.GetRequiredService<INodeNetwork>());
        if (settings.Kubernetes.Enabled)
        {
            // One connection (one HTTP/2 connection to the server) for the node agent and the fleet membership; the
            // container disposes it after both (it is created before either).
            services.TryAddSingleton(sp => KubernetesConnection.Create(sp.GetRequiredService<DaemonSettings>().Kubernetes, sp.GetRequiredService<TimeProvider>()));
            // The API's pod list is the restore evidence, the host's (veths) its fallback while the list is not synced.
            services.TryAddSingleton(sp => KubernetesNodeAgent.Create(
                sp.GetRequiredService<DaemonSettings>().Kubernetes,
                sp.GetRequiredService<INodeNetwork>().Liveness,
                () => sp.GetRequiredService<IpamEngine>().Controller,
                sp.GetRequiredService<TimeProvider>(),
                Loggers(sp),
                sp.GetRequiredService<KubernetesConnection>()));
            services.TryAddSingleton<IPodLivenessEvidence>(sp => sp.GetRequiredService<KubernetesNodeAgent>().Evidence);
            if (settings.Ec2FleetSchedule)
            {
                // VPC_CNI_EC2_FLEET_SCHEDULE: the node's place among the cluster's nodes, for the EC2 budget's schedule
                // (the EC2 provider asks for IFleetMembership; resolving it does no I/O, IpamdNode.StartAsync starts it).
                services.TryAddSingleton(sp => KubernetesFleetMembership.Create(
                    sp.GetRequiredService<DaemonSettings>().Kubernetes,
                    sp.GetRequiredService<KubernetesConnection>(),
                    sp.GetRequiredService<TimeProvider>(),
                    Loggers(sp)));
                services.TryAddSingleton<IFleetMembership>(sp => sp.GetRequiredService<KubernetesFleetMembership>());
            }
        }

        services.TryAddSingleton<IPodLivenessEvidence>(sp => sp.GetRequiredService<INodeNetwork>().Liveness ?? NoLivenessEvidence.Instance);
        services.TryAddSingleton(sp => new IpamdMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IPoolObserver>(sp => new PoolMetricsObserver(sp.GetRequiredService<IpamdMetrics>(), sp.GetRequiredService<TimeProvider>()));
        // The pool sees the cloud through the metrics; IEniProvider stays the raw port.
        // Under custom networking the pool's new ENIs are placed by the node's ENIConfig.
        services.TryAddKeyedSingleton<IEniProvider>(IpamServiceCollectionExtensions.PoolCloudKey, (sp, _) =>
        {
            IEniProvider metered = new MeteredEniProvider(sp.GetRequiredService<IEniProvider>(), sp.GetRequiredService<IpamdMetrics>(), sp.GetRequiredService<TimeProvider>());
            return sp.GetService<KubernetesNodeAgent>()?.EniConfig is { } eniConfig ? new CustomNetworkingEniProvider(metered, eniConfig) : metered;
        });
        var firstDaemon = !services.Any(d => d.ServiceType == typeof(NodeStartStep));
        services.TryAddSingleton(sp => new NodeStartStep(
            sp.GetRequiredService<IEniProvider>(),
            sp.GetRequiredService<INodeNetwork>(),
            // Upstream disables the leaked-ENI cleanup in IPv6 mode.
            settings.Ipam.EnableIPv6 ? null : sp.GetService<LeakedEniCleanup>(),
            Loggers(sp).CreateLogger("VpcCni.Daemon")));
        if (firstDaemon)
        {
            services.AddSingleton<IIpamStartStep>(sp => sp.GetRequiredService<NodeStartStep>());
            if (settings.Kubernetes.Enabled)
            {
                // After the node's own start: by then the lists (started with the node) have usually arrived.
                services.AddSingleton<IIpamStartStep>(sp => sp.GetRequiredService<KubernetesNodeAgent>());
            }
        }

        services.AddVpcCniIpam(o =>
        {
            settings.Ipam.CopyTo(o);
            o.BackingStorePath = settings.CheckpointPath;
        });
        services.TryAddSingleton(sp =>
        {
            var metrics = sp.GetRequiredService<IpamdMetrics>();
            metrics.ObserveSubnets(sp.GetService<IEniProvider>() as ISubnetPrefixCapacitySource);
            metrics.ObserveNetwork(sp.GetService<INodeNetwork>());
            return new IpamdNode(
                sp.GetRequiredService<IpamEngine>(),
                sp.GetRequiredService<NodeStartStep>(),
                sp.GetRequiredService<DaemonSettings>(),
                sp.GetService<LeakedEniCleanup>(),
                sp.GetRequiredService<TimeProvider>(),
                Loggers(sp),
                metrics,
                sp.GetService<KubernetesNodeAgent>(),
                VpcCidrWatcherOf(sp),
                sp.GetService<KubernetesFleetMembership>());
        });
        if (settings.WirePods)
        {
            services.TryAddSingleton(sp => new DaemonPodWiring(
                sp.GetRequiredService<IpamdNode>(),
                sp.GetService<HostVethReaper>(),
                Loggers(sp).CreateLogger<DaemonPodWiring>()));
        }

        return services;
    }

    /// <summary>
    /// <see cref="AddVpcCniDaemon(IServiceCollection, DaemonSettings, Func{string, string})"/> with the settings, and the
    /// AWS variables, read from a configuration section whose keys are upstream's variable names; <paramref name="configure"/>
    /// sets what has no upstream variable (the cloud, the socket, host networking). The section is read here, because
    /// the cloud and the datapath are chosen from it: an invalid value throws <see cref="VpcCni.Configuration.InvalidSettingException"/>
    /// naming the key before anything starts.
    /// </summary>
    public static IServiceCollection AddVpcCniDaemon(this IServiceCollection services, IConfiguration configuration, Func<DaemonSettings, DaemonSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = DaemonSettings.FromConfiguration(configuration);
        return services.AddVpcCniDaemon(configure?.Invoke(settings) ?? settings, key => configuration[key]);
    }

    /// <summary>
    /// The VPC-CIDR watcher over a registered <see cref="IVpcCidrSource"/>, else over the cloud port when it is one (both
    /// built-in clouds are); none for an embedder's cloud port that cannot tell.
    /// </summary>
    private static VpcCidrWatcher? VpcCidrWatcherOf(IServiceProvider sp) =>
        (sp.GetService<IVpcCidrSource>() ?? sp.GetService<IEniProvider>() as IVpcCidrSource) is { } source
            ? new VpcCidrWatcher(
                source,
                sp.GetRequiredService<INodeNetwork>(),
                sp.GetRequiredService<NodeStartStep>(),
                sp.GetRequiredService<DaemonSettings>().VpcCidrCheckInterval,
                sp.GetRequiredService<TimeProvider>(),
                Loggers(sp).CreateLogger("VpcCni.Daemon"))
            : null;

    private static ILoggerFactory Loggers(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
