using System.Threading.RateLimiting;
using Amazon.EC2;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using VpcCni.Cloud;

namespace VpcCni.Aws.Ec2;

/// <summary>
/// How every EC2 call is made: first a token from the client-side budget that mirrors EC2's account
/// buckets (so this node never drives the account into RequestLimitExceeded), then the call, retried by
/// Polly with jittered exponential backoff on throttling and transient failures. The SDK's own retries must
/// be off (<see cref="Ec2ClientFactory"/> sets MaxErrorRetry = 0) so the two never multiply, and no caller loops
/// around this policy (a delete has its own pipeline here instead). Failures leave as
/// <see cref="CloudException"/>.
/// </summary>
internal sealed class Ec2CallPolicy : IDisposable
{
    private static readonly TimeSpan ReplenishPeriod = TimeSpan.FromMilliseconds(200);
    private readonly Dictionary<string, TokenBucketRateLimiter> _budget = new(StringComparer.Ordinal);
    private readonly AdaptiveRequestBudget? _adaptive;
    private readonly Func<bool>? _canWait;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline _deletePipeline;
    private readonly ITimer? _replenish;
    private readonly ILogger _logger;
    private long _calls;
    private bool _described;

    public Ec2CallPolicy(Ec2ProviderOptions options, TimeProvider time, ILogger logger, ICloudRequestPriority? priority = null, IFleetMembership? membership = null)
    {
        _logger = logger;
        _canWait = priority is null ? null : () => priority.CanWait;
        if (options.RequestBudget && options.AdaptiveRequestBudget)
        {
            // The node learns its share of the account from EC2's answers (docs/ec2-budget.md); the share caps it.
            _adaptive = new AdaptiveRequestBudget(
                Ec2RequestLimits.All.Select(b => new RequestBucketLimit(b.Name, b.Capacity * options.RequestBudgetShare, b.RefillPerSecond * options.RequestBudgetShare)),
                new AdaptiveBudgetOptions { FleetSize = options.FleetSize },
                time,
                membership: membership);
        }
        else if (options.RequestBudget)
        {
            foreach (var bucket in Ec2RequestLimits.All)
            {
                var perPeriod = Math.Max(1, (int)Math.Round(bucket.RefillPerSecond * options.RequestBudgetShare * ReplenishPeriod.TotalSeconds));
                _budget[bucket.Name] = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(1, (int)(bucket.Capacity * options.RequestBudgetShare)),
                    TokensPerPeriod = perPeriod,
                    // TryReplenish refuses to add tokens until this much real time has passed; one tick makes every
                    // call count, so the TimeProvider timer below alone decides the refill rate.
                    ReplenishmentPeriod = TimeSpan.FromTicks(1),
                    AutoReplenishment = false,
                    QueueLimit = 10_000,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                });
            }

            // Replenish on the TimeProvider, not on a hidden system timer, so fake clocks drive it too.
            _replenish = time.CreateTimer(_ => Replenish(), null, ReplenishPeriod, ReplenishPeriod);
        }

        _pipeline = BuildPipeline(time, options.MaxAttempts, options.RetryBaseDelay, options.RetryMaxDelay, retryInUse: false);
        _deletePipeline = BuildPipeline(time, options.DeleteAttempts, options.DeleteRetryDelay, options.DeleteRetryMaxDelay, retryInUse: true);
    }

    private ResiliencePipeline BuildPipeline(TimeProvider time, int attempts, TimeSpan baseDelay, TimeSpan maxDelay, bool retryInUse)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (attempts > 1)
        {
            var handle = new PredicateBuilder().Handle<AmazonServiceException>(IsRetryable).Handle<HttpRequestException>().Handle<TimeoutException>();
            if (retryInUse)
            {
                handle = handle.Handle<AmazonServiceException>(e => e.ErrorCode is Ec2ErrorCodes.NetworkInterfaceInUse or "InvalidNetworkInterfaceID.InUse");
            }

            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = handle,
                MaxRetryAttempts = attempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = baseDelay,
                MaxDelay = maxDelay,
                OnRetry = args =>
                {
                    var code = args.Outcome.Exception is AmazonServiceException s ? s.ErrorCode ?? s.StatusCode.ToString() : args.Outcome.Exception?.GetType().Name ?? "?";
                    AwsLog.Ec2Retry(_logger, (string)args.Context.Properties.GetValue(ActionKey, "?"), code, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        return builder.Build();
    }

    private static readonly ResiliencePropertyKey<string> ActionKey = new("ec2.action");

    /// <summary>EC2 requests sent (each attempt counts).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    public ValueTask<T> ExecuteAsync<T>(string action, bool filteredOrPaginated, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        ExecuteAsync(_pipeline, action, filteredOrPaginated, call, cancellationToken);

    /// <summary>
    /// A DeleteNetworkInterface: the only retry layer of a delete, with the delete's own attempts and backoff, retrying
    /// also while EC2 still sees the ENI in use (a detach takes seconds). Every attempt takes a budget token.
    /// </summary>
    public ValueTask<T> ExecuteDeleteAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        ExecuteAsync(_deletePipeline, "DeleteNetworkInterface", false, call, cancellationToken);

    private async ValueTask<T> ExecuteAsync<T>(ResiliencePipeline pipeline, string action, bool filteredOrPaginated, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ActionKey, action);
        try
        {
            return await pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    await state.Self.AcquireAsync(state.Action, state.Filtered, ctx.CancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref state.Self._calls);
                    if (state.Self._adaptive is not { } adaptive)
                    {
                        return await state.Call(ctx.CancellationToken).ConfigureAwait(false);
                    }

                    var bucket = Ec2RequestLimits.For(state.Action, state.Filtered).Name;
                    try
                    {
                        var result = await state.Call(ctx.CancellationToken).ConfigureAwait(false);
                        adaptive.OnSuccess(bucket);
                        return result;
                    }
                    catch (AmazonServiceException e) when (Ec2ErrorCodes.Classify(e.ErrorCode, (int)e.StatusCode) == CloudErrorKind.Throttled)
                    {
                        // EC2 says the account's bucket is empty: this node's share shrinks (and its next requests wait).
                        adaptive.OnThrottled(bucket, RetryAfter(e));
                        throw;
                    }
                },
                context,
                (Self: this, Action: action, Filtered: filteredOrPaginated, Call: call)).ConfigureAwait(false);
        }
        catch (AmazonServiceException e)
        {
            var kind = Ec2ErrorCodes.Classify(e.ErrorCode, (int)e.StatusCode);
            if (kind == CloudErrorKind.Unauthorized)
            {
                AwsLog.Unauthorized(_logger, action, e.ErrorCode ?? "?", e.Message);
            }

            throw new CloudException(kind, $"EC2 {action} failed: {e.ErrorCode}: {e.Message}", e.ErrorCode, e);
        }
        catch (HttpRequestException e)
        {
            throw new CloudException(CloudErrorKind.Transient, $"EC2 {action} failed: {e.Message}", null, e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    // EC2 sends no Retry-After; a throttling answer that carries one (a proxy, the emulator) is honoured.
    private static TimeSpan? RetryAfter(AmazonServiceException e) =>
        e.InnerException is Amazon.Runtime.Internal.HttpErrorResponseException { Response: { } response }
        && response.IsHeaderPresent("Retry-After")
        && int.TryParse(response.GetHeaderValue("Retry-After"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;

    private async ValueTask AcquireAsync(string action, bool filtered, CancellationToken cancellationToken)
    {
        if (_adaptive is not null)
        {
            var bucket = Ec2RequestLimits.For(action, filtered).Name;
            var followUp = action is "AttachNetworkInterface" or "ModifyNetworkInterfaceAttribute" or "DeleteNetworkInterface";
            if (_adaptive.IsPaced && action == "DescribeNetworkInterfaces" && Volatile.Read(ref _described))
            {
                // A paced fleet: after the start, describing the instance's ENIs is a reconcile, which gives way rather
                // than hold the pool loop for the next slot; it books the slot and is tried again on the next loop.
                if (_adaptive.TryAcquire(bucket, background: true, followUp: false, deferrable: true) > TimeSpan.Zero)
                {
                    throw new CloudException(CloudErrorKind.Throttled, $"EC2 {action} deferred: no slot of the node's budget now", "ClientBudgetDeferred");
                }

                return;
            }

            // Asked before each try: a top-up nobody waits for stands aside, and goes at once when a pod starts waiting.
            await _adaptive.AcquireAsync(bucket, _canWait, followUp, cancellationToken).ConfigureAwait(false);
            if (action == "DescribeNetworkInterfaces")
            {
                Volatile.Write(ref _described, true);
            }

            return;
        }

        if (_budget.Count == 0)
        {
            return;
        }

        var limiter = _budget[Ec2RequestLimits.For(action, filtered).Name];
        using var lease = await limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            throw new CloudException(CloudErrorKind.Throttled, $"client-side EC2 budget for {action} is exhausted (queue full)", Ec2ErrorCodes.RequestLimitExceeded);
        }
    }

    private void Replenish()
    {
        foreach (var limiter in _budget.Values)
        {
            limiter.TryReplenish();
        }
    }

    private static bool IsRetryable(AmazonServiceException e) =>
        Ec2ErrorCodes.Classify(e.ErrorCode, (int)e.StatusCode) is CloudErrorKind.Throttled or CloudErrorKind.Transient;

    public void Dispose()
    {
        _replenish?.Dispose();
        foreach (var limiter in _budget.Values)
        {
            limiter.Dispose();
        }
    }
}
