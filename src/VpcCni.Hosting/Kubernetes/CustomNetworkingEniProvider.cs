using System.Net;
using VpcCni.Cloud;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The pool's cloud under custom networking: every ENI it creates goes to the node's ENIConfig subnet(s) with its
/// security groups; everything else passes through. A request that already names a subnet is left as it is.
/// </summary>
internal sealed class CustomNetworkingEniProvider(IEniProvider inner, NodeEniConfig eniConfig) : IEniProvider, IInstanceEniMetadata
{
    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) =>
        inner.DescribeInstanceEnisAsync(cancellationToken);

    public ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken) =>
        inner is IInstanceEniMetadata metadata ? metadata.ReadAttachedEnisAsync(cancellationToken) : ValueTask.FromResult<IReadOnlyList<NetworkInterface>?>(null);

    public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        EniCreateRequest placed;
        try
        {
            placed = request.SubnetId is null && request.SubnetIds is null ? eniConfig.Place(request) : request;
        }
        catch (CloudException e)
        {
            return ValueTask.FromException<NetworkInterface>(e);
        }

        return inner.CreateAndAttachEniAsync(placed, cancellationToken);
    }

    public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) =>
        inner.AssignAsync(eniId, unit, count, cancellationToken);

    public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken) =>
        inner.UnassignAsync(eniId, cidrs, cancellationToken);

    public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) =>
        inner.DetachAndDeleteEniAsync(eniId, cancellationToken);

    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) => inner.EnsureEniTagsAsync(eni, cancellationToken);
}
