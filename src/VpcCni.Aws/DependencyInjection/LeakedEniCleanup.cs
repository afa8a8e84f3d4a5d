namespace VpcCni.Aws;

/// <summary>
/// Upstream's leaked-ENI clean-up for the EC2 provider that <see cref="AwsServiceCollectionExtensions.AddVpcCniAws(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{Ec2.Ec2ProviderOptions}?, Func{string, string?}?)"/>
/// registered: this instance's own leftovers at node start, and the VPC-wide hourly sweep. Does nothing when another
/// cloud port was registered in its place, or when <c>DISABLE_LEAKED_ENI_CLEANUP</c> is set.
/// </summary>
public sealed class LeakedEniCleanup
{
    private readonly OwnedEc2EniProvider? _provider;

    internal LeakedEniCleanup(OwnedEc2EniProvider? provider) => _provider = provider;

    /// <summary>
    /// Deletes ENIs this instance's daemon created before a restart and never attached (available, tagged with this
    /// instance). Call it at node start, before the pool can create ENIs. Returns the ENIs deleted.
    /// </summary>
    public Task<IReadOnlyList<string>> DeleteOwnLeftoversAsync(CancellationToken cancellationToken) =>
        _provider?.SweepOwnLeftoversAsync(cancellationToken) ?? Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>
    /// Starts the hourly VPC-wide sweep (0–299 s jitter, then every hour; 5-minute grace) until
    /// <paramref name="stopping"/>; null when it does not run (disabled, another cloud port, or no region known yet).
    /// </summary>
    public Task? StartHourlySweep(CancellationToken stopping) => _provider?.StartLeakedEniSweep(stopping);
}
