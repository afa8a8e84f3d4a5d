using Microsoft.Extensions.DependencyInjection;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>A node composed exactly as the daemon composes it (<c>AddVpcCniDaemon</c>) over a test's cloud and host network.</summary>
internal static class DaemonNodes
{
    /// <summary>The node owns its container: disposing the node disposes the engine, the record and the ports once.</summary>
    public static IpamdNode Create(IEniProvider cloud, DaemonSettings settings, INodeNetwork network, TimeProvider timeProvider)
    {
        var container = new ServiceCollection()
            .AddSingleton(cloud)
            .AddSingleton(network)
            .AddSingleton(timeProvider)
            .AddVpcCniDaemon(settings)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var node = container.GetRequiredService<IpamdNode>();
        node.OwnContainer(container);
        return node;
    }
}
