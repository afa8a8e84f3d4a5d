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

    /// <summary>Binds <see cref="IpamOptions"/> from upstream's variable names (WARM_ENI_TARGET, ...) in any key/value source.</summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var reader = new EnvironmentReader(variables);
        return services.AddVpcCniIpam(o =>
        {
            var bound = DaemonSettings.FromEnvironment(reader).Ipam;
            o.WarmEniTarget = bound.WarmEniTarget;
            o.WarmIpTarget = bound.WarmIpTarget;
            o.MinimumIpTarget = bound.MinimumIpTarget;
            o.WarmPrefixTarget = bound.WarmPrefixTarget;
            o.EnablePrefixDelegation = bound.EnablePrefixDelegation;
            o.MaxEni = bound.MaxEni;
            o.IpCooldownPeriod = bound.IpCooldownPeriod;
            o.UseCustomNetworking = bound.UseCustomNetworking;
            o.EnablePodEni = bound.EnablePodEni;
            o.PoolPolicy = bound.PoolPolicy;
            o.AssignWaitTimeout = bound.AssignWaitTimeout;
        });
    }

    /// <summary>
    /// EC2 (AWSSDK.EC2, SDK retries off, Polly + client-side budget) and IMDSv2 as the cloud port. Options come from the
    /// standard variables (AWS_REGION, AWS_ENDPOINT_URL_EC2, AWS_EC2_METADATA_SERVICE_ENDPOINT, CLUSTER_NAME, ...) and
    /// <paramref name="configure"/>; a missing region fails when the provider is built, naming AWS_REGION.
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
            var region = options.Region ?? throw new InvalidSettingException("AWS_REGION", "", "is required to build the EC2 client (or set Ec2ProviderOptions.Region)");
            var time = sp.GetRequiredService<TimeProvider>();
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            var imdsOptions = Aws.Imds.ImdsOptions.FromEnvironment(variables);
            var imds = new Aws.Imds.ImdsClient(new HttpClient { Timeout = imdsOptions.RequestTimeout }, imdsOptions, time, loggers.CreateLogger<Aws.Imds.ImdsClient>());
            // Keys given in the variables win; otherwise the SDK's default credential chain applies.
            var credentials = variables("AWS_ACCESS_KEY_ID") is { Length: > 0 } key && variables("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secret
                ? new Amazon.Runtime.BasicAWSCredentials(key, secret)
                : null;
            return new Aws.Ec2.Ec2EniProvider(Aws.Ec2.Ec2ClientFactory.Create(options, region, credentials), imds, options, time, loggers.CreateLogger<Aws.Ec2.Ec2EniProvider>());
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
}
