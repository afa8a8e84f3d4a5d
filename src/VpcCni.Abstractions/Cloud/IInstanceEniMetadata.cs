namespace VpcCni.Cloud;

/// <summary>
/// A cheaper view of the instance's ENIs than the cloud API's: the instance metadata (on EC2, IMDS: no account request
/// budget, no tags). The pool's periodic reconcile compares it with what it holds and asks the cloud
/// (<see cref="IEniProvider.DescribeInstanceEnisAsync"/>) only when the two differ, as upstream's reconcile does, so a
/// large fleet does not spend the account's describe budget on views that say nothing new.
/// </summary>
public interface IInstanceEniMetadata
{
    /// <summary>
    /// The ENIs attached to the instance as its metadata lists them: id, MAC, device and card index, primary and
    /// secondary IPv4 addresses, IPv4 prefixes (no tags, no attachment id). Null when the metadata cannot be read now.
    /// </summary>
    ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken);
}
