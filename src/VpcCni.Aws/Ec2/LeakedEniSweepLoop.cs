using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VpcCni.Aws.Ec2;

/// <summary>
/// Runs the <see cref="LeakedEniSweeper"/> on upstream's schedule: each run first waits a random time below
/// <see cref="Ec2ProviderOptions.LeakedEniSweepMaxJitter"/> (0–299 s), sweeps, then waits
/// <see cref="Ec2ProviderOptions.LeakedEniSweepInterval"/> (1 h) before the next run. Does nothing when
/// <see cref="Ec2ProviderOptions.LeakedEniCleanup"/> is off (DISABLE_LEAKED_ENI_CLEANUP=true). All waiting is on the
/// <see cref="TimeProvider"/>; a failed sweep is logged and the loop goes on.
/// </summary>
internal sealed class LeakedEniSweepLoop
{
    private readonly LeakedEniSweeper _sweeper;
    private readonly Ec2ProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Random _random;
    private int _completed;

    public LeakedEniSweepLoop(LeakedEniSweeper sweeper, Ec2ProviderOptions options, TimeProvider? timeProvider = null, ILogger<LeakedEniSweepLoop>? logger = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(sweeper);
        ArgumentNullException.ThrowIfNull(options);
        _sweeper = sweeper;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _random = random ?? new Random();
    }

    /// <summary>Whether <see cref="RunAsync"/> sweeps at all.</summary>
    public bool IsEnabled => _options.LeakedEniCleanup;

    /// <summary>Sweeps finished so far (successful or not).</summary>
    public int CompletedSweeps => Volatile.Read(ref _completed);

    /// <summary>The outcome of the last sweep that succeeded, if any.</summary>
    public LeakedEniSweepResult? LastResult { get; private set; }

    /// <summary>Sweeps until <paramref name="cancellationToken"/> is cancelled, then returns (no exception).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!IsEnabled)
        {
            return;
        }

        try
        {
            while (true)
            {
                var jitter = TimeSpan.FromTicks(_options.LeakedEniSweepMaxJitter.Ticks <= 0 ? 0 : _random.NextInt64(_options.LeakedEniSweepMaxJitter.Ticks));
                await Task.Delay(jitter, _time, cancellationToken).ConfigureAwait(false);
                try
                {
                    LastResult = await _sweeper.SweepAsync(cancellationToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A failed sweep (EC2, IMDS, a timeout) must not end the loop; the next run retries.
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    AwsLog.SweepFailed(_logger, e.Message);
                }

                Interlocked.Increment(ref _completed);
                await Task.Delay(_options.LeakedEniSweepInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
