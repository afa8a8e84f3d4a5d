using Microsoft.Extensions.Logging;
using VpcCni.Aws;
using VpcCni.Cloud;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The node's work before the pool initialises (upstream nodeInit's first part): the instance's identity, the host
/// network, and the deletion of this instance's own leftover ENIs before the pool can create any.
/// </summary>
internal sealed partial class NodeStartStep(IEniProvider cloud, INodeNetwork network, LeakedEniCleanup? cleanup, ILogger logger) : IIpamStartStep
{
    private InstanceIdentity? _instance;

    /// <summary>The instance, once the step has run.</summary>
    public InstanceIdentity? Instance => Volatile.Read(ref _instance);

    /// <summary>The VPC's CIDR blocks changed (<see cref="VpcCidrWatcher"/>): the node's identity carries the new list.</summary>
    internal void UseVpcCidrs(IReadOnlyList<System.Net.IPNetwork> cidrs)
    {
        var current = Volatile.Read(ref _instance) ?? throw new InvalidOperationException("the node has not read its instance yet");
        Volatile.Write(ref _instance, current with { VpcCidrs = cidrs });
    }

    public async Task BeforeInitializeAsync(CancellationToken cancellationToken)
    {
        var instance = await cloud.GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _instance, instance);
        await network.SetupNodeAsync(instance, cancellationToken).ConfigureAwait(false);
        await DeleteOwnLeftoverEnisAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// An earlier run of this daemon killed between CreateNetworkInterface and the attach left an available ENI tagged
    /// with this instance: delete such leftovers now, rather than an hour later by the VPC-wide sweep. A failure is
    /// logged, never fatal (the hourly sweep still finds them).
    /// </summary>
    private async Task DeleteOwnLeftoverEnisAsync(CancellationToken cancellationToken)
    {
        if (cleanup is null)
        {
            return;
        }

        try
        {
            foreach (var eniId in await cleanup.DeleteOwnLeftoversAsync(cancellationToken).ConfigureAwait(false))
            {
                LogOwnLeftoverDeleted(logger, eniId);
            }
        }
        catch (CloudException ex)
        {
            LogOwnLeftoverSweepFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 4009, Level = LogLevel.Information, Message = "deleted {EniId}: an ENI this instance's daemon created before a restart and never attached")]
    private static partial void LogOwnLeftoverDeleted(ILogger logger, string eniId);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "could not look for this instance's leftover ENIs (the hourly sweep will): {Reason}")]
    private static partial void LogOwnLeftoverSweepFailed(ILogger logger, string reason);
}
