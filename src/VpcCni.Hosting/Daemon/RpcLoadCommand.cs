using System.Diagnostics;
using System.Globalization;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// `vpc-cni-ipamd rpc-load`: AddNetwork + DelNetwork pairs from N concurrent callers over the daemon's socket,
/// reporting latency percentiles and throughput (a node-local load test; it only talks to the given socket).
/// </summary>
internal static class RpcLoadCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var socket = line.Get("socket") ?? IpamdChannel.DefaultSocketPath;
        var callers = line.Int("callers", 1, 1024) ?? 64;
        var pairs = line.Int("pairs", 1, 1_000_000) ?? 2000;
        line.EnsureAllUsed();

        using var channel = IpamdChannel.Create(socket, TimeSpan.FromSeconds(5));
        var client = new CNIBackend.CNIBackendClient(channel);
        var add = new double[pairs];
        var del = new double[pairs];
        var failures = 0;
        var next = -1;
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < pairs)
            {
                var id = $"rpcload{caller}x{i}";
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
        total.Stop();

        Array.Sort(add);
        Array.Sort(del);
        static string P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)].ToString("0.00", CultureInfo.InvariantCulture);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{callers} callers, {pairs} AddNetwork+DelNetwork pairs in {total.Elapsed.TotalSeconds:0.00} s: {pairs / total.Elapsed.TotalSeconds:0} pairs/s; " +
            $"AddNetwork p50 {P(add, 0.5)} ms p99 {P(add, 0.99)} ms; DelNetwork p50 {P(del, 0.5)} ms p99 {P(del, 0.99)} ms; failed adds {failures}")).ConfigureAwait(false);
        return failures == 0 ? 0 : 1;
    }
}
