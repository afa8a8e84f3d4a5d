using VpcCni.Cloud;

namespace VpcCni.Ipam.Fleet;

/// <summary>
/// How one node sends its EC2 requests to the shared account: the client-side behaviour a policy brings (retries,
/// back-off, a request budget). A request that still fails leaves as a throttling <see cref="CloudException"/>.
/// </summary>
internal abstract class FleetEc2Client(FleetAccount account, TimeProvider time)
{
    /// <summary>How long EC2 takes to answer RequestLimitExceeded.</summary>
    public static readonly TimeSpan ThrottledAnswerLatency = TimeSpan.FromMilliseconds(100);

    protected TimeProvider Time { get; } = time;

    /// <summary>Sends one EC2 action until it succeeds or the client gives up.</summary>
    /// <param name="background">Asked again before each attempt: true while nobody waits for the result (a warm-pool top-up).</param>
    /// <param name="deferrable">The caller would rather fail at once than wait for the client's budget (a periodic reconcile).</param>
    public abstract Task CallAsync(RequestBucketLimit bucket, string action, TimeSpan latency, Func<bool> background, CancellationToken cancellationToken, bool deferrable = false);

    /// <summary>One request: the account decides on arrival, the answer comes back after the latency.</summary>
    protected async Task<bool> AttemptAsync(RequestBucketLimit bucket, TimeSpan latency, CancellationToken cancellationToken)
    {
        var accepted = account.TryTake(bucket.Name);
        await DelayAsync(accepted ? latency : ThrottledAnswerLatency, cancellationToken).ConfigureAwait(false);
        return accepted;
    }

    protected Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => ClockDelay.Wait(Time, delay, inline: true, cancellationToken);

    protected static CloudException Throttled(string action, int attempts) =>
        new(CloudErrorKind.Throttled, $"EC2 {action} failed: RequestLimitExceeded after {attempts} attempt(s)", "RequestLimitExceeded");
}

/// <summary>
/// Upstream's EC2 client: no client-side rate limit, the AWS SDK's standard retryer (3 attempts; full-jitter exponential
/// back-off, a random 0 to 2^attempt s capped at 20 s; a retry quota of 500 tokens, 5 per retry, 1 back per success).
/// </summary>
internal sealed class SdkStandardRetryClient(FleetAccount account, TimeProvider time, Random random) : FleetEc2Client(account, time)
{
    private const int MaxAttempts = 3;
    private const int QuotaCapacity = 500;
    private const int RetryCost = 5;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(20);
    private int _quota = QuotaCapacity;

    public override async Task CallAsync(RequestBucketLimit bucket, string action, TimeSpan latency, Func<bool> background, CancellationToken cancellationToken, bool deferrable = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await AttemptAsync(bucket, latency, cancellationToken).ConfigureAwait(false))
            {
                _quota = Math.Min(QuotaCapacity, _quota + (attempt == 1 ? 1 : RetryCost));
                return;
            }

            if (attempt >= MaxAttempts || _quota < RetryCost)
            {
                throw Throttled(action, attempt);
            }

            _quota -= RetryCost;
            var backoff = Math.Min(MaxBackoff.TotalSeconds, random.NextDouble() * (1 << attempt));
            await DelayAsync(TimeSpan.FromSeconds(backoff), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// VpcCni's EC2 client: every request first takes a token of the node's <see cref="AdaptiveRequestBudget"/>, which
/// learns the node's share of the account from the answers; up to 8 attempts (the provider's default), each waiting
/// for the budget, whose pause after a throttle is the back-off.
/// </summary>
internal sealed class AdaptiveBudgetClient(FleetAccount account, TimeProvider time, AdaptiveRequestBudget budget) : FleetEc2Client(account, time)
{
    private const int MaxAttempts = 8;

    public AdaptiveRequestBudget Budget => budget;

    public override async Task CallAsync(RequestBucketLimit bucket, string action, TimeSpan latency, Func<bool> background, CancellationToken cancellationToken, bool deferrable = false)
    {
        ArgumentNullException.ThrowIfNull(background);
        var followUp = IsFollowUp(action);
        for (var attempt = 1; ; attempt++)
        {
            for (var wait = budget.TryAcquire(bucket.Name, background(), followUp, deferrable); wait > TimeSpan.Zero; wait = budget.TryAcquire(bucket.Name, background(), followUp, deferrable))
            {
                if (deferrable && budget.IsPaced)
                {
                    throw new CloudException(CloudErrorKind.Throttled, $"EC2 {action} deferred: no slot of the node's budget now", "ClientBudgetDeferred");
                }

                await DelayAsync(wait, cancellationToken).ConfigureAwait(false);
            }

            if (await AttemptAsync(bucket, latency, cancellationToken).ConfigureAwait(false))
            {
                budget.OnSuccess(bucket.Name);
                return;
            }

            budget.OnThrottled(bucket.Name);
            if (attempt >= MaxAttempts)
            {
                throw Throttled(action, attempt);
            }
        }
    }

    /// <summary>The actions that complete an operation begun by a paced request (as the EC2 provider's call policy names them).</summary>
    internal static bool IsFollowUp(string action) =>
        action is "AttachNetworkInterface" or "ModifyNetworkInterfaceAttribute" or "DeleteNetworkInterface";
}
