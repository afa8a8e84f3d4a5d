using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>
/// One fleet node's view of the cloud through the port the controller drives: each port operation becomes the EC2
/// actions the real provider sends (Create → Attach → Modify for a new ENI; Detach → Delete; Assign; Unassign;
/// DescribeNetworkInterfaces), each through the node's client against the shared account with its latency. The
/// instance's state (ENIs, addresses) lives in an <see cref="InMemoryPlanningCloud"/> and changes only when every action
/// of an operation succeeded. A failure after the ENI was created deletes it, as the real provider does. Requests are
/// background while no pod on the node waits for an address (the daemon's own signal: a waiting or failed ADD).
/// </summary>
internal sealed class FleetNodeCloud(InMemoryPlanningCloud inner, FleetEc2Client client, FleetLatencies latencies, TimeProvider time, Action addressesChanged, Func<bool> background, bool reconcileFromImds, bool paced = false) : IEniProvider, IInstanceEniMetadata
{
    private static readonly TimeSpan ImdsLatency = TimeSpan.FromMilliseconds(10);
    private static readonly Func<bool> Always = () => true;
    private bool _described;

    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

    public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
    {
        if (reconcileFromImds && _described)
        {
            await ClockDelay.Wait(time, ImdsLatency, inline: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // After the start, a describe is a reconcile: nobody waits for it, and it gives way rather than wait for the budget.
            await client.CallAsync(FleetAccount.NonMutating, "DescribeNetworkInterfaces", latencies.Describe, _described && paced ? Always : background, cancellationToken, deferrable: _described && paced).ConfigureAwait(false);
            _described = true;
        }

        return await inner.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>IMDS: the instance's own view, no EC2 request (the reconcile asks EC2 only when it differs from the pool).</summary>
    public async ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken)
    {
        await ClockDelay.Wait(time, ImdsLatency, inline: true, cancellationToken).ConfigureAwait(false);
        return await inner.DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        await client.CallAsync(FleetAccount.Create, "CreateNetworkInterface", latencies.Create, background, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.CallAsync(FleetAccount.Mutating, "AttachNetworkInterface", latencies.Attach, background, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException)
        {
            await DeleteQuietlyAsync(attached: false, cancellationToken).ConfigureAwait(false);
            throw;
        }

        // DeleteOnTermination is set as soon as the attach returns (as the EC2 provider and upstream do), while the device
        // is still on its way to the instance: the ENI is usable once both are done.
        var attachedAt = time.GetTimestamp();
        try
        {
            await client.CallAsync(FleetAccount.Modify, "ModifyNetworkInterfaceAttribute", latencies.Modify, background, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException)
        {
            await DeleteQuietlyAsync(attached: true, cancellationToken).ConfigureAwait(false);
            throw;
        }

        var propagating = latencies.AttachPropagation - time.GetElapsedTime(attachedAt);
        if (propagating > TimeSpan.Zero)
        {
            await ClockDelay.Wait(time, propagating, inline: true, cancellationToken).ConfigureAwait(false);
        }

        var eni = await inner.CreateAndAttachEniAsync(request, cancellationToken).ConfigureAwait(false);
        addressesChanged();
        return eni;
    }

    public async ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        await client.CallAsync(FleetAccount.Assign, "AssignPrivateIpAddresses", latencies.Assign, background, cancellationToken).ConfigureAwait(false);
        await ClockDelay.Wait(time, latencies.AssignPropagation, inline: true, cancellationToken).ConfigureAwait(false);
        var added = await inner.AssignAsync(eniId, unit, count, cancellationToken).ConfigureAwait(false);
        addressesChanged();
        return added;
    }

    public async ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        if (cidrs.Count == 0)
        {
            return;
        }

        await client.CallAsync(FleetAccount.Unassign, "UnassignPrivateIpAddresses", latencies.Unassign, background, cancellationToken).ConfigureAwait(false);
        await inner.UnassignAsync(eniId, cidrs, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken)
    {
        await client.CallAsync(FleetAccount.Mutating, "DetachNetworkInterface", latencies.Detach, background, cancellationToken).ConfigureAwait(false);
        await ClockDelay.Wait(time, latencies.DetachSettle, inline: true, cancellationToken).ConfigureAwait(false);
        await client.CallAsync(FleetAccount.Delete, "DeleteNetworkInterface", latencies.Delete, background, cancellationToken).ConfigureAwait(false);
        await inner.DetachAndDeleteEniAsync(eniId, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) => inner.EnsureEniTagsAsync(eni, cancellationToken);

    // Cleans up an ENI whose creation failed half-way; a throttled clean-up leaves a leaked ENI (the sweeper's job), as in EC2.
    private async Task DeleteQuietlyAsync(bool attached, CancellationToken cancellationToken)
    {
        try
        {
            if (attached)
            {
                await client.CallAsync(FleetAccount.Mutating, "DetachNetworkInterface", latencies.Detach, background, cancellationToken).ConfigureAwait(false);
                await ClockDelay.Wait(time, latencies.DetachSettle, inline: true, cancellationToken).ConfigureAwait(false);
            }

            await client.CallAsync(FleetAccount.Delete, "DeleteNetworkInterface", latencies.Delete, background, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudException)
        {
        }
    }
}
