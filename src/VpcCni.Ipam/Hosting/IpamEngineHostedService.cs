using Microsoft.Extensions.Hosting;

namespace VpcCni.Ipam;

/// <summary>
/// Hands the container's one <see cref="IpamEngine"/> to the host (an <see cref="IHostedService"/> registration of its
/// own, so that TryAddEnumerable can keep it to one however often the engine is registered).
/// </summary>
internal sealed class IpamEngineHostedService(IpamEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
