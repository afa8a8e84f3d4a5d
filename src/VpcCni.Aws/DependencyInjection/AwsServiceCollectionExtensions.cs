using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Imds;
using VpcCni.Aws.Limits;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>
/// Registers a cloud port (<see cref="IEniProvider"/>): EC2 and IMDSv2 (<see cref="AddVpcCniAws(IServiceCollection, Action{Ec2ProviderOptions}?, Func{string, string?}?)"/>)
/// or an in-process simulated VPC (<see cref="AddVpcCniSimulatedCloud(IServiceCollection, Action{SimulatedCloudOptions})"/>).
/// Ports are TryAdd, so one registered first wins; loggers come from the container's <see cref="ILoggerFactory"/> when
/// it has one.
/// </summary>
public static class AwsServiceCollectionExtensions
{
    /// <summary>
    /// EC2 (AWSSDK.EC2, SDK retries off, Polly + client-side budget) and IMDSv2 as the cloud port, and its
    /// <see cref="LeakedEniCleanup"/>. <see cref="Ec2ProviderOptions"/> and <see cref="ImdsOptions"/> are read from the
    /// standard variables (AWS_REGION, AWS_ENDPOINT_URL_EC2, AWS_EC2_METADATA_SERVICE_ENDPOINT, CLUSTER_NAME, ...) in
    /// <paramref name="variables"/> (the process environment by default), then <paramref name="configure"/>; both are
    /// validated at start, failures naming the variable. Without a region, IMDS is asked for it on the provider's first
    /// call (node start), and that call fails naming AWS_REGION if IMDS cannot tell. The container owns the provider and
    /// the IMDS and EC2 clients under it, and disposes them with itself.
    /// </summary>
    public static IServiceCollection AddVpcCniAws(this IServiceCollection services, Action<Ec2ProviderOptions>? configure = null, Func<string, string?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        variables ??= Environment.GetEnvironmentVariable;
        services.AddOptions<Ec2ProviderOptions>()
            .Configure(o =>
            {
                Ec2ProviderOptions.Bind(o, variables);
                configure?.Invoke(o);
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Ec2ProviderOptions>>(new SettingsRulesValidator<Ec2ProviderOptions>(o => o.Validate())));
        services.AddOptions<ImdsOptions>().Configure(o => ImdsOptions.Bind(o, variables)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ImdsOptions>>(new SettingsRulesValidator<ImdsOptions>(o => o.Validate())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IEniProvider>(sp =>
        {
            // Keys given in the variables win; otherwise the SDK's default credential chain applies.
            var credentials = variables("AWS_ACCESS_KEY_ID") is { Length: > 0 } key && variables("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secret
                ? new Amazon.Runtime.BasicAWSCredentials(key, secret)
                : null;
            return new OwnedEc2EniProvider(
                sp.GetRequiredService<IOptions<Ec2ProviderOptions>>().Value,
                sp.GetRequiredService<IOptions<ImdsOptions>>().Value,
                credentials,
                sp.GetRequiredService<TimeProvider>(),
                Loggers(sp),
                // Resolved at the first request, not now: the pool that implements it is built on this provider.
                new DeferredRequestPriority(() => sp.GetService<ICloudRequestPriority>()),
                // The node's place in the fleet (the host registers it from the API server's node list), if any.
                sp.GetService<IFleetMembership>());
        });
        services.TryAddSingleton(sp => new LeakedEniCleanup(sp.GetRequiredService<IEniProvider>() as OwnedEc2EniProvider));
        return services;
    }

    /// <summary>
    /// <see cref="AddVpcCniAws(IServiceCollection, Action{Ec2ProviderOptions}?, Func{string, string?}?)"/> reading the
    /// variables from a configuration section whose keys are their names (read key by key: AOT-safe).
    /// </summary>
    public static IServiceCollection AddVpcCniAws(this IServiceCollection services, IConfiguration configuration, Action<Ec2ProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddVpcCniAws(configure, key => configuration[key]);
    }

    /// <summary>An in-process simulated VPC with one instance as the cloud port (no AWS account needed).</summary>
    public static IServiceCollection AddVpcCniSimulatedCloud(this IServiceCollection services, Action<SimulatedCloudOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SimulatedCloudOptions();
        configure(options);
        // Checked here rather than at start: the simulated VPC is built from it, and a wrong type is a programming error.
        if (!InstanceLimitsCatalog.TryGet(options.InstanceType, out _))
        {
            throw new ArgumentException($"instance type \"{options.InstanceType}\" is not a known EC2 instance type", nameof(configure));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => SimulatedCluster.Create(options.InstanceType, timeProvider: sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IEniProvider>(sp =>
        {
            var cluster = sp.GetRequiredService<SimulatedCluster>();
            return new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        });
        return services;
    }

    /// <summary>An in-process simulated VPC with one instance of <paramref name="instanceType"/> as the cloud port.</summary>
    public static IServiceCollection AddVpcCniSimulatedCloud(this IServiceCollection services, string instanceType = "m5.large")
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceType);
        return services.AddVpcCniSimulatedCloud(o => o.InstanceType = instanceType);
    }

    private static ILoggerFactory Loggers(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
