using System.Net;

namespace VpcCni.Cloud;

/// <summary>
/// The cloud port that the IPAM engine drives: the EC2 ENI lifecycle of one instance.
/// Implemented over AWSSDK.EC2 + IMDS by VpcCni.Aws, and by the simulated VPC.
/// Failures the engine acts on are thrown as <see cref="CloudException"/> with a <see cref="CloudErrorKind"/>.
/// </summary>
public interface IEniProvider
{
    /// <summary>Identity and placement of this instance.</summary>
    ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken);

    /// <summary>Networking limits of an instance type.</summary>
    ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken);

    /// <summary>Every ENI attached to this instance with its addresses and prefixes, as EC2 sees them now.</summary>
    ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken);

    /// <summary>Creates an ENI, attaches it at a free device index, sets DeleteOnTermination, and returns it
    /// once attached with its addresses. On a failure after creation the provider deletes what it created.</summary>
    ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken);

    /// <summary>Assigns <paramref name="count"/> more units to an ENI and returns exactly the new ones
    /// (/32 networks for addresses, /28 for prefixes).</summary>
    ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken);

    /// <summary>Returns addresses or prefixes of an ENI to EC2. An empty list makes no call.</summary>
    ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken);

    /// <summary>Detaches and deletes an ENI. An ENI that is already gone counts as success.</summary>
    ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken);

    /// <summary>Adds the provider's ownership tags that a managed ENI lacks (ENIs created before a restart, by an
    /// older version, or by hand); called once per ENI when the engine first takes it over. Providers without tags
    /// do nothing.</summary>
    ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
