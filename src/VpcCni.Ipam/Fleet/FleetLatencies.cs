namespace VpcCni.Ipam.Fleet;

/// <summary>
/// Modelled EC2 latencies per action (field survey §3.2-3.3: Assign ~0.5 s, Attach ~0.75 s, the whole provisioning
/// burst ~1-2 s of API time, then seconds until the ENI shows on the instance; detach must finish before delete).
/// Together they match <see cref="CloudLatencies"/>' defaults for one node (~6 s for a new ENI, ~1.5 s for addresses).
/// </summary>
internal sealed record FleetLatencies
{
    public TimeSpan Describe { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan Create { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Attach { get; init; } = TimeSpan.FromMilliseconds(750);

    /// <summary>After Attach returns, until the device and its addresses show on the instance (IMDS, udev).</summary>
    public TimeSpan AttachPropagation { get; init; } = TimeSpan.FromSeconds(4);

    public TimeSpan Modify { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan Assign { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>After Assign returns, until the addresses show in IMDS.</summary>
    public TimeSpan AssignPropagation { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Unassign { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan Detach { get; init; } = TimeSpan.FromMilliseconds(750);

    /// <summary>Between Detach and Delete (upstream sleeps 2 s: the detach takes that long).</summary>
    public TimeSpan DetachSettle { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Delete { get; init; } = TimeSpan.FromMilliseconds(500);
}
