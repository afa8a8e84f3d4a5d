namespace VpcCni.Aws;

/// <summary>One of EC2's per-account, per-Region request token buckets.</summary>
/// <param name="Name">Bucket name (an action name, or a category).</param>
/// <param name="Capacity">Maximum tokens (burst).</param>
/// <param name="RefillPerSecond">Tokens added per second.</param>
internal sealed record Ec2RequestBucket(string Name, int Capacity, int RefillPerSecond);

/// <summary>
/// EC2's published request token buckets (field survey §3.1): the simulated VPC enforces them and the
/// provider's client-side budget mirrors them, so both sides agree on which call draws from which bucket.
/// </summary>
internal static class Ec2RequestLimits
{
    /// <summary>Describe*, filtered or paginated.</summary>
    public static readonly Ec2RequestBucket NonMutating = new("NonMutating", 100, 20);

    /// <summary>DescribeInstances/DescribeNetworkInterfaces/... without filters or pagination.</summary>
    public static readonly Ec2RequestBucket UnfilteredNonMutating = new("UnfilteredNonMutating", 50, 10);

    /// <summary>Default mutating bucket (Attach/DetachNetworkInterface).</summary>
    public static readonly Ec2RequestBucket Mutating = new("Mutating", 50, 5);

    private static readonly Dictionary<string, Ec2RequestBucket> PerAction = new(StringComparer.Ordinal)
    {
        ["CreateNetworkInterface"] = new("CreateNetworkInterface", 100, 5),
        ["DeleteNetworkInterface"] = new("DeleteNetworkInterface", 100, 5),
        ["ModifyNetworkInterfaceAttribute"] = new("ModifyNetworkInterfaceAttribute", 100, 5),
        ["AssignPrivateIpAddresses"] = new("AssignPrivateIpAddresses", 100, 5),
        ["UnassignPrivateIpAddresses"] = new("UnassignPrivateIpAddresses", 100, 5),
        ["AssignIpv6Addresses"] = new("AssignIpv6Addresses", 100, 5),
        ["CreateTags"] = new("CreateTags", 100, 10),
        ["DeleteTags"] = new("DeleteTags", 100, 10),
    };

    /// <summary>Every bucket, for building limiters.</summary>
    public static IEnumerable<Ec2RequestBucket> All =>
        PerAction.Values.Append(NonMutating).Append(UnfilteredNonMutating).Append(Mutating);

    /// <summary>The bucket an action draws from.</summary>
    /// <param name="action">EC2 action name, e.g. CreateNetworkInterface.</param>
    /// <param name="filteredOrPaginated">For non-mutating calls: whether ids, filters or MaxResults were given.</param>
    public static Ec2RequestBucket For(string action, bool filteredOrPaginated = true)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (PerAction.TryGetValue(action, out var bucket))
        {
            return bucket;
        }

        return IsNonMutating(action)
            ? filteredOrPaginated ? NonMutating : UnfilteredNonMutating
            : Mutating;
    }

    /// <summary>Describe*, List*, Get*, Search* are non-mutating.</summary>
    public static bool IsNonMutating(string action) =>
        action.StartsWith("Describe", StringComparison.Ordinal) || action.StartsWith("List", StringComparison.Ordinal)
        || action.StartsWith("Get", StringComparison.Ordinal) || action.StartsWith("Search", StringComparison.Ordinal);
}
