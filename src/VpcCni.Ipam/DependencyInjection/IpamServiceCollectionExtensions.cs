using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VpcCni.Cloud;
using VpcCni.Configuration;

namespace VpcCni.Ipam;

/// <summary>
/// Registers the IPAM engine: <see cref="IpamOptions"/> (validated at start, failures name the upstream variable), the
/// durable record (when <see cref="IpamOptions.BackingStorePath"/> is set), a <see cref="PoolController"/> over whatever
/// <see cref="IEniProvider"/> is registered, and <see cref="IpamEngine"/> as a hosted service. Everything is TryAdd, so
/// services registered first (a cloud port, an <see cref="IPodLivenessEvidence"/>, an <see cref="IEniLifecycleHook"/>)
/// are the ones used; loggers come from the container's <see cref="ILoggerFactory"/> when it has one.
/// </summary>
public static class IpamServiceCollectionExtensions
{
    /// <summary>
    /// Service key of an optional keyed <see cref="IEniProvider"/> the pool uses instead of the registered one: a
    /// decorated view of the same port (metrics, tracing), while <see cref="IEniProvider"/> itself stays the raw port.
    /// </summary>
    public const string PoolCloudKey = "VpcCni.Ipam.PoolCloud";

    /// <summary>The engine, configured by <paramref name="configure"/>.</summary>
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
        services.TryAddSingleton<IpamDurableRecord>();
        services.TryAddSingleton(sp => new PoolController(
            sp.GetKeyedService<IEniProvider>(PoolCloudKey) ?? sp.GetRequiredService<IEniProvider>(),
            sp.GetRequiredService<IOptions<IpamOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IpamDurableRecord>().Store,
            sp.GetService<IPodLivenessEvidence>(),
            Loggers(sp).CreateLogger<PoolController>(),
            eniHook: sp.GetService<IEniLifecycleHook>(),
            policy: sp.GetService<IPoolPolicy>())
        {
            Observer = sp.GetService<IPoolObserver>(),
            // The pool's cloud may be a decorator; the IPv6 calls go to the raw port.
            IPv6Cloud = sp.GetService<IEniProvider>() as IIPv6PrefixProvider,
        });
        // The EC2 provider asks the pool whether its requests may wait (the adaptive budget's background class).
        services.TryAddSingleton<ICloudRequestPriority>(sp => sp.GetRequiredService<PoolController>());
        services.TryAddSingleton(sp => new IpamEngine(
            sp.GetRequiredService<PoolController>(),
            sp.GetServices<IIpamStartStep>(),
            sp.GetRequiredService<TimeProvider>(),
            Loggers(sp).CreateLogger<IpamEngine>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, IpamEngineHostedService>());
        return services;
    }

    /// <summary>
    /// The engine with its settings read from upstream's variable names (WARM_ENI_TARGET, WARM_IP_TARGET, ...,
    /// AWS_VPC_K8S_CNI_BACKING_STORE) in any key/value source, when the options are first built; an invalid value fails
    /// at start naming the variable.
    /// </summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var reader = new EnvironmentReader(variables);
        return services.AddVpcCniIpam(o => IpamUpstreamVariables.Bind(o, reader));
    }

    /// <summary>
    /// The engine with its settings read from a configuration section whose keys are upstream's variable names
    /// (<c>"WARM_IP_TARGET": "5"</c> in appsettings.json, the environment, the command line, ...). Read key by key,
    /// without the reflection binder (AOT-safe); an invalid value fails at start naming the key.
    /// </summary>
    public static IServiceCollection AddVpcCniIpam(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddVpcCniIpam(key => configuration[key]);
    }

    /// <summary>The container's logger factory, or none: never registered here, so a later AddLogging() still wins.</summary>
    internal static ILoggerFactory Loggers(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
