using System.Globalization;
using Amazon.EC2.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cloud;

namespace VpcCni.Aws.Ec2;

/// <summary>Outcome of one leaked-ENI sweep.</summary>
internal sealed record LeakedEniSweepResult(IReadOnlyList<string> Deleted, IReadOnlyList<string> Tagged, int Skipped);

/// <summary>
/// Deletes CNI-created ENIs left <c>available</c> (upstream's <c>getLeakedENIs</c>): tagged with an instance id,
/// described <c>aws-K8S-…</c>, in this VPC (and cluster when CLUSTER_NAME is set), older than the grace period.
/// Safe while other nodes sweep the same VPC: deletion is idempotent (NotFound = someone else did it), and
/// an ENI that got attached meanwhile is refused by EC2 (InUse) and skipped.
/// </summary>
internal sealed class LeakedEniSweeper
{
    private readonly Ec2EniProvider _provider;
    private readonly Ec2ProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Amazon.EC2.IAmazonEC2 _ec2;

    public LeakedEniSweeper(Amazon.EC2.IAmazonEC2 ec2, Ec2EniProvider provider, Ec2ProviderOptions options, TimeProvider? timeProvider = null, ILogger<LeakedEniSweeper>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(ec2);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(options);
        _ec2 = ec2;
        _provider = provider;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Upstream's VPC-wide sweep: any available CNI ENI of the VPC (and cluster) whose createdAt is past the grace period.</summary>
    public ValueTask<LeakedEniSweepResult> SweepAsync(CancellationToken cancellationToken) => SweepCoreAsync(ownOnly: false, cancellationToken);

    /// <summary>
    /// This instance's own leftovers, at once: available ENIs tagged with this instance's id, which only an earlier run
    /// of this node's daemon can have made (one killed between CreateNetworkInterface and the attach, or whose create
    /// reply was lost). Call it before this process creates ENIs (the daemon does, at start), so that no create of its
    /// own is in flight; no grace period is needed then.
    /// </summary>
    public ValueTask<LeakedEniSweepResult> SweepOwnAsync(CancellationToken cancellationToken) => SweepCoreAsync(ownOnly: true, cancellationToken);

    private async ValueTask<LeakedEniSweepResult> SweepCoreAsync(bool ownOnly, CancellationToken cancellationToken)
    {
        var self = await _provider.GetInstanceAsync(cancellationToken).ConfigureAwait(false);
        var filters = new List<Filter>
        {
            ownOnly ? new Filter("tag:" + EniTags.InstanceId, [self.InstanceId]) : new Filter("tag-key", [EniTags.InstanceId]),
            new("status", ["available"]),
            new("vpc-id", [self.VpcId]),
        };
        if (_options.ClusterName is { } cluster)
        {
            filters.Add(new Filter("tag:" + EniTags.ClusterName, [cluster]));
        }

        var candidates = await _provider.DescribeAllAsync(filters, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var deleted = new List<string>();
        var tagged = new List<string>();
        var skipped = 0;
        foreach (var eni in candidates)
        {
            if (eni.Description is null || !eni.Description.StartsWith(EniTags.DescriptionPrefix, StringComparison.Ordinal))
            {
                skipped++;
                continue;
            }

            if (!ownOnly)
            {
                var createdAt = eni.TagSet?.FirstOrDefault(t => t.Key == EniTags.CreatedAt)?.Value;
                if (createdAt is null || !DateTimeOffset.TryParse(createdAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created))
                {
                    // Start the clock now; a later sweep deletes it if it stays unused.
                    await _provider.CallAsync("CreateTags", ct => _ec2.CreateTagsAsync(new CreateTagsRequest
                    {
                        Resources = [eni.NetworkInterfaceId],
                        Tags = [new Tag(EniTags.CreatedAt, now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))],
                    }, ct), cancellationToken).ConfigureAwait(false);
                    tagged.Add(eni.NetworkInterfaceId);
                    continue;
                }

                if (now - created < _options.LeakedEniGracePeriod)
                {
                    skipped++;
                    continue;
                }
            }

            try
            {
                if (await _provider.DeleteWithRetriesAsync(eni.NetworkInterfaceId, cancellationToken).ConfigureAwait(false))
                {
                    deleted.Add(eni.NetworkInterfaceId);
                }
                else
                {
                    skipped++;
                }
            }
            catch (CloudException e) when (e.Kind != CloudErrorKind.Unauthorized)
            {
                AwsLog.SweepDeleteFailed(_logger, eni.NetworkInterfaceId, e.Message);
                skipped++;
            }
        }

        AwsLog.SweepDone(_logger, deleted.Count, tagged.Count, skipped);
        return new LeakedEniSweepResult(deleted, tagged, skipped);
    }
}
