using System.Diagnostics;
using System.Globalization;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// `vpc-cni-ipamd rpc-load`: AddNetwork + DelNetwork pairs from N concurrent callers over the daemon's socket,
/// reporting latency percentiles and throughput (a node-local load test; it only talks to the given socket).
/// </summary>
/// <remarks>
/// The timed pairs follow <c>--warmup</c> untimed pairs (default: one per caller). Without them the first wave of
/// concurrent calls, which also opens the HTTP/2 connection and runs cold code on both sides, is more than 1 % of a
/// few thousand samples and becomes the p99; its slowest AddNetwork is still reported.
/// </remarks>
internal static class RpcLoadCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var socket = line.Get("socket") ?? IpamdChannel.DefaultSocketPath;
        var callers = line.Int("callers", 1, 1024) ?? 64;
        var pairs = line.Int("pairs", 1, 1_000_000) ?? 2000;
        var warmup = line.Int("warmup", 0, 1_000_000) ?? callers;
        line.EnsureAllUsed();

        using var channel = IpamdChannel.Create(socket, TimeSpan.FromSeconds(5));
        var client = new CNIBackend.CNIBackendClient(channel);
        var warmupAdd = new double[warmup];
        var failures = await RunPhaseAsync(client, "warmup", callers, warmupAdd, new double[warmup], cancellationToken).ConfigureAwait(false);
        var add = new double[pairs];
        var del = new double[pairs];
        var total = Stopwatch.StartNew();
        failures += await RunPhaseAsync(client, "rpcload", callers, add, del, cancellationToken).ConfigureAwait(false);
        total.Stop();

        Array.Sort(add);
        Array.Sort(del);
        static string P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)].ToString("0.00", CultureInfo.InvariantCulture);
        var warmed = warmup == 0 ? "no warm-up" : string.Create(CultureInfo.InvariantCulture, $"after {warmup} warm-up pairs (slowest warm-up AddNetwork {warmupAdd.Max():0.00} ms)");
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{callers} callers, {pairs} AddNetwork+DelNetwork pairs in {total.Elapsed.TotalSeconds:0.00} s: {pairs / total.Elapsed.TotalSeconds:0} pairs/s; " +
            $"AddNetwork p50 {P(add, 0.5)} ms p99 {P(add, 0.99)} ms; DelNetwork p50 {P(del, 0.5)} ms p99 {P(del, 0.99)} ms; {warmed}; failed adds {failures}")).ConfigureAwait(false);
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Runs add.Length pairs from <paramref name="callers"/> concurrent loops; returns the failed adds.</summary>
    private static async Task<int> RunPhaseAsync(CNIBackend.CNIBackendClient client, string prefix, int callers, double[] add, double[] del, CancellationToken cancellationToken)
    {
        var failures = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < add.Length)
            {
                var id = $"{prefix}{caller}x{i}";
                var started = Stopwatch.GetTimestamp();
                var reply = await client.AddNetworkAsync(new AddNetworkRequest
                {
                    ContainerID = id, IfName = "eth0", NetworkName = "rpc-load", K8SPODNAME = id, K8SPODNAMESPACE = "rpc-load", Netns = "/proc/1/ns/net",
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
                add[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!reply.Success)
                {
                    Interlocked.Increment(ref failures);
                }

                started = Stopwatch.GetTimestamp();
                await client.DelNetworkAsync(new DelNetworkRequest { ContainerID = id, IfName = "eth0", NetworkName = "rpc-load", Reason = "PodDeleted" }, cancellationToken: cancellationToken).ConfigureAwait(false);
                del[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })).ConfigureAwait(false);
        return failures;
    }
}
