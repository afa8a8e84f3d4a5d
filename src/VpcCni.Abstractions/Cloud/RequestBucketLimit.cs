namespace VpcCni.Cloud;

/// <summary>One of the cloud account's request token buckets, as the provider publishes it.</summary>
/// <param name="Name">Bucket name (an action name, or a category such as "Mutating").</param>
/// <param name="Capacity">Tokens the account's bucket holds (its burst).</param>
/// <param name="RefillPerSecond">Tokens the account adds per second: the sustained rate of the whole account.</param>
internal sealed record RequestBucketLimit(string Name, double Capacity, double RefillPerSecond);
