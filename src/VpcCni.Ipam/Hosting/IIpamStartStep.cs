namespace VpcCni.Ipam;

/// <summary>
/// Work that must finish before <see cref="IpamEngine"/> initialises the pool (for example, a node agent setting up
/// its host network). Registered steps run in registration order; a failing step fails the engine's start.
/// </summary>
public interface IIpamStartStep
{
    /// <summary>Runs once, before the pool is restored and first sized.</summary>
    Task BeforeInitializeAsync(CancellationToken cancellationToken);
}
