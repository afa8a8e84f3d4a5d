using System.Net;
using Microsoft.Extensions.Logging;
using VpcCni.Cloud;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// Upstream's VPC-CIDR watcher (updateCIDRsRulesOnChange, every 30 s): reads the VPC's IPv4 CIDRs and, when the set
/// differs from the node's, re-applies the SNAT/connmark rules with the new list (exemptions for a block that went
/// away are removed) and makes it the node's list (AddNetwork's VPCv4CIDRs, introspection). A failed or empty read
/// keeps the last list and leaves the rules alone; a failed re-apply keeps the old list, so the next tick retries.
/// </summary>
internal sealed partial class VpcCidrWatcher
{
    /// <summary>Upstream's period.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    private readonly IVpcCidrSource _source;
    private readonly INodeNetwork _network;
    private readonly NodeStartStep _node;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public VpcCidrWatcher(IVpcCidrSource source, INodeNetwork network, NodeStartStep node, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _source = source;
        _network = network;
        _node = node;
        _interval = interval;
        _time = time;
        _logger = logger;
    }

    /// <summary>Checks every interval until <paramref name="stopping"/>; the task ends quietly when stopped.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await CheckAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>One check; true when the list changed and the rules now follow it.</summary>
    internal async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        if (_node.Instance is not { } instance)
        {
            return false;
        }

        IReadOnlyList<IPNetwork> read;
        try
        {
            read = await _source.GetVpcIPv4CidrsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReadFailed(_logger, ex.Message);
            return false;
        }

        if (read.Count == 0)
        {
            // Every VPC has a block: an empty answer is a fault, and must not strip every exemption.
            LogReadFailed(_logger, "the cloud listed no CIDR block");
            return false;
        }

        // Upstream compares the sets: the same blocks in another order change nothing.
        if (read.ToHashSet().SetEquals(instance.VpcCidrs))
        {
            return false;
        }

        var updated = instance with { VpcCidrs = [.. read] };
        try
        {
            await _network.UpdateVpcCidrsAsync(updated, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogApplyFailed(_logger, read, ex.Message);
            return false;
        }

        _node.UseVpcCidrs(updated.VpcCidrs);
        LogChanged(_logger, instance.VpcCidrs, read);
        return true;
    }

    // The logging formatter writes a list as its items joined by ", ".
    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "the VPC's CIDR blocks changed from [{Old}] to [{New}]: SNAT rules and AddNetwork's VPC CIDRs follow")]
    private static partial void LogChanged(ILogger logger, IReadOnlyList<IPNetwork> old, IReadOnlyList<IPNetwork> @new);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "could not read the VPC's CIDR blocks (keeping the last known list and rules): {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "the VPC's CIDR blocks are now [{New}] but the SNAT rules could not follow (retried at the next check): {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, IReadOnlyList<IPNetwork> @new, string reason);
}
