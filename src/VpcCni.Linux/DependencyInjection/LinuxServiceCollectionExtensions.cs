using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VpcCni.Configuration;
using VpcCni.Linux.Host;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux;

/// <summary>
/// Registers the Linux host datapath of the network namespace the process runs in: <see cref="HostNetworkDatapath"/>
/// (ENI links, routes, rules, sysctls), <see cref="SnatReconciler"/> (SNAT and connmark rules), <see cref="PodHostState"/>
/// (pod veths and per-pod rules) and <see cref="HostVethReaper"/>. Each opens its netlink sockets when first resolved;
/// the container owns them and the namespace handle. Everything is TryAdd, so services registered first win; loggers
/// come from the container's <see cref="ILoggerFactory"/> when it has one.
/// </summary>
public static class LinuxServiceCollectionExtensions
{
    /// <summary>The datapath, configured by <paramref name="configure"/> (validated at start).</summary>
    public static IServiceCollection AddVpcCniLinuxDatapath(this IServiceCollection services, Action<LinuxDatapathOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<LinuxDatapathOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LinuxDatapathOptions>, LinuxDatapathOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<CurrentNetworkNamespace>();
        services.TryAddSingleton(sp => new HostNetworkDatapath(
            sp.GetRequiredService<CurrentNetworkNamespace>().Namespace,
            sp.GetRequiredService<TimeProvider>(),
            logger: Loggers(sp).CreateLogger<HostNetworkDatapath>()));
        services.TryAddSingleton(sp => new SnatReconciler(
            sp.GetRequiredService<CurrentNetworkNamespace>().Namespace,
            sp.GetRequiredService<IOptions<LinuxDatapathOptions>>().Value.NetfilterBackend,
            logger: Loggers(sp).CreateLogger<SnatReconciler>()));
        services.TryAddSingleton(sp => new PodHostState(sp.GetRequiredService<CurrentNetworkNamespace>().Namespace));
        services.TryAddSingleton(sp => new HostVethReaper(
            new HostVethReaperOptions { VethPrefix = sp.GetRequiredService<IOptions<LinuxDatapathOptions>>().Value.VethPrefix },
            sp.GetRequiredService<CurrentNetworkNamespace>().Namespace,
            Loggers(sp).CreateLogger<HostVethReaper>(),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// The datapath with its settings read from a configuration section whose keys are upstream's variable names
    /// (<c>AWS_VPC_K8S_CNI_VETHPREFIX</c>, <c>VPC_CNI_NETFILTER_BACKEND</c>); an invalid value fails naming the key.
    /// </summary>
    public static IServiceCollection AddVpcCniLinuxDatapath(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var reader = new EnvironmentReader(key => configuration[key]);
        return services.AddVpcCniLinuxDatapath(o =>
        {
            o.VethPrefix = reader.String("AWS_VPC_K8S_CNI_VETHPREFIX", o.VethPrefix);
            o.NetfilterBackend = reader.OneOf("VPC_CNI_NETFILTER_BACKEND", "auto", "auto", "iptables", "nftables") switch
            {
                "iptables" => ConnmarkBackend.Iptables,
                "nftables" => ConnmarkBackend.Nftables,
                _ => ConnmarkBackend.Auto,
            };
        });
    }

    private static ILoggerFactory Loggers(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
