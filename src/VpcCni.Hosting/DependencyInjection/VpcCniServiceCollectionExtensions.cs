using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Ipam;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting;

/// <summary>
/// Composition for embedders: each piece registers its options (validated at start) and services with TryAdd, so a
/// caller can put its own cloud port (<see cref="IEniProvider"/>) or host datapath (<see cref="INodeNetwork"/>) in
/// front and the defaults step aside.
/// </summary>
public static class VpcCniServiceCollectionExtensions
{
    /// <summary>
    /// The IPAM engine: <see cref="IpamOptions"/> (validated at start; failures name the upstream variable) and a
    /// <see cref="PoolController"/> over whatever <see cref="IEniProvider"/> is registered.
    /// </summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, Action<IpamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<IpamOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IpamOptions>, IpamOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.TryAddSingleton(sp => new PoolController(
            sp.GetRequiredService<IEniProvider>(),
            sp.GetRequiredService<IOptions<IpamOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            logger: sp.GetRequiredService<ILoggerFactory>().CreateLogger<PoolController>(),
            eniHook: sp.GetService<IEniLifecycleHook>()));
        return services;
    }

    /// <summary>
    /// Binds <see cref="IpamOptions"/> from upstream's variable names (WARM_ENI_TARGET, WARM_IP_TARGET, ...) in any
    /// key/value source, when the options are first built; an invalid value fails at start naming the variable.
    /// </summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var reader = new EnvironmentReader(variables);
        return services.AddVpcCniIpam(o => DaemonSettings.BindIpam(reader, o));
    }

    /// <summary>
    /// Binds <see cref="IpamOptions"/> from a configuration section whose keys are upstream's variable names
    /// (<c>"WARM_IP_TARGET": "5"</c> in appsettings.json, the environment, the command line, ...). Read key by key,
    /// without the reflection binder (AOT-safe); an invalid value fails at start naming the key.
    /// </summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var reader = EnvironmentReader.From(configuration);
        return services.AddVpcCniIpam(o => DaemonSettings.BindIpam(reader, o));
    }

    /// <summary>
    /// EC2 (AWSSDK.EC2, SDK retries off, Polly + client-side budget) and IMDSv2 as the cloud port. Options come from the
    /// standard variables (AWS_REGION, AWS_ENDPOINT_URL_EC2, AWS_EC2_METADATA_SERVICE_ENDPOINT, CLUSTER_NAME, ...) and
    /// <paramref name="configure"/>. Without a region, IMDS is asked for it on the provider's first call (node start),
    /// and that call fails naming AWS_REGION if IMDS cannot tell. The container owns the provider and the IMDS and EC2
    /// clients under it, and disposes them with itself.
    /// </summary>
    public static IServiceCollection AddVpcCniAws(this IServiceCollection services, Action<Aws.Ec2.Ec2ProviderOptions>? configure = null, Func<string, string?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        variables ??= Environment.GetEnvironmentVariable;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.TryAddSingleton<IEniProvider>(sp =>
        {
            var options = Aws.Ec2.Ec2ProviderOptions.FromEnvironment(variables);
            configure?.Invoke(options);
            options.Validate();
            // Keys given in the variables win; otherwise the SDK's default credential chain applies.
            var credentials = variables("AWS_ACCESS_KEY_ID") is { Length: > 0 } key && variables("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secret
                ? new Amazon.Runtime.BasicAWSCredentials(key, secret)
                : null;
            return new OwnedEc2EniProvider(options, Aws.Imds.ImdsOptions.FromEnvironment(variables), credentials, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>());
        });
        return services;
    }

    /// <summary>An in-process simulated VPC with one instance as the cloud port (no AWS account needed).</summary>
    public static IServiceCollection AddVpcCniSimulatedCloud(this IServiceCollection services, string instanceType = "m5.large")
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!Aws.Limits.InstanceLimitsCatalog.TryGet(instanceType, out _))
        {
            throw new ArgumentException($"instance type \"{instanceType}\" is not a known EC2 instance type", nameof(instanceType));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => SimulatedCluster.Create(instanceType, timeProvider: sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IEniProvider>(sp =>
        {
            var cluster = sp.GetRequiredService<SimulatedCluster>();
            return new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        });
        return services;
    }

    /// <summary>The Linux host datapath of the current network namespace as the ENI lifecycle hook.</summary>
    public static IServiceCollection AddVpcCniLinuxDatapath(this IServiceCollection services, DaemonSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(settings ?? new DaemonSettings());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.TryAddSingleton<INodeNetwork>(sp => new LinuxNodeNetwork(sp.GetRequiredService<DaemonSettings>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton<IEniLifecycleHook>(sp => sp.GetRequiredService<INodeNetwork>());
        return services;
    }

    /// <summary>
    /// The node daemon (vpc-cni-ipamd) without its server: <paramref name="settings"/>, the cloud they name
    /// (<see cref="CloudKind.Aws"/> → <see cref="AddVpcCniAws"/> reading <paramref name="variables"/>, the process
    /// environment by default; <see cref="CloudKind.Simulated"/> → <see cref="AddVpcCniSimulatedCloud"/>), the host
    /// datapath (<see cref="AddVpcCniLinuxDatapath"/>, or <see cref="NoNodeNetwork"/> when
    /// <see cref="DaemonSettings.ManageHostNetwork"/> is off), <see cref="IpamdMetrics"/> and the <see cref="IpamdNode"/>
    /// built from them. Ports are TryAdd, so an embedder's own <see cref="IEniProvider"/> or <see cref="INodeNetwork"/>
    /// registered first wins; <paramref name="settings"/> replace any registered before, since everything here must
    /// agree on them. The container owns what it builds: disposing it disposes the node, the datapath and the cloud
    /// clients, each once. The caller starts and stops the node (<see cref="IpamdNode.StartAsync"/>, <see cref="IpamdNode.StopAsync"/>).
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

        if (settings.ManageHostNetwork)
        {
            services.AddVpcCniLinuxDatapath(settings);
        }
        else
        {
            services.TryAddSingleton<INodeNetwork, NoNodeNetwork>();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        // Pod veths live in the daemon's namespace whether or not it manages the host network; the reaper opens its
        // sockets on first use.
        services.TryAddSingleton(sp => new HostVethReaper(
            new HostVethReaperOptions { VethPrefix = sp.GetRequiredService<DaemonSettings>().VethPrefix },
            logger: sp.GetRequiredService<ILoggerFactory>().CreateLogger<HostVethReaper>(),
            time: sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new IpamdMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(sp => new IpamdNode(
            sp.GetRequiredService<IEniProvider>(),
            sp.GetRequiredService<DaemonSettings>(),
            sp.GetRequiredService<INodeNetwork>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<IpamdMetrics>()));
        return services;
    }

    /// <summary>
    /// <see cref="AddVpcCniDaemon(IServiceCollection, DaemonSettings, Func{string, string})"/> with the settings, and the
    /// AWS variables, read from a configuration section whose keys are upstream's variable names; <paramref name="configure"/>
    /// sets what has no upstream variable (the cloud, the socket, host networking). The section is read here, because
    /// the cloud and the datapath are chosen from it: an invalid value throws <see cref="InvalidSettingException"/>
    /// naming the key before anything starts.
    /// </summary>
    public static IServiceCollection AddVpcCniDaemon(this IServiceCollection services, IConfiguration configuration, Func<DaemonSettings, DaemonSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = DaemonSettings.FromConfiguration(configuration);
        return services.AddVpcCniDaemon(configure?.Invoke(settings) ?? settings, key => configuration[key]);
    }
}
