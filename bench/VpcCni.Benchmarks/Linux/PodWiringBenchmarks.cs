using System.Diagnostics;
using System.Net;
using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

namespace VpcCni.Benchmarks.Linux;

/// <summary>
/// One pod setup + teardown per operation (100 measured operations, one invocation each), in-process over
/// netlink versus the same wiring by shelling out to `ip` (the baseline), in scratch namespaces. Needs root.
/// Run: dotnet run -c Release --project bench/VpcCni.Benchmarks -- --filter '*PodWiring*'
/// </summary>
[SupportedOSPlatform("linux")]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 5, iterationCount: 100, invocationCount: 1)]
[MemoryDiagnoser]
[MinColumn, MaxColumn, MedianColumn]
[Q3Column, MeanColumn]
[CsvMeasurementsExporter]
public class PodWiringBenchmarks
{
    private readonly string _node = $"vcl{Environment.ProcessId}-bnode";
    private readonly string _pod = $"vcl{Environment.ProcessId}-bpod";
    private NetworkNamespace? _nodeNs;
    private PodNetworkDatapath? _datapath;
    private PodNetworkRequest? _request;
    private string _hostVeth = "";

    [GlobalSetup]
    public void Setup()
    {
        NetworkNamespace.Create(_node);
        NetworkNamespace.Create(_pod);
        _nodeNs = NetworkNamespace.OpenByName(_node);
        _datapath = new PodNetworkDatapath(_nodeNs);
        _request = new PodNetworkRequest(NetworkNamespace.PathOf(_pod), "default", "bench", "eth0", IPAddress.Parse("10.0.2.20"), 2) { Mtu = 9001 };
        _hostVeth = PodNetworkDatapath.HostVethName("eni", "default", "bench");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _datapath?.Dispose();
        _nodeNs?.Dispose();
        NetworkNamespace.Delete(_pod);
        NetworkNamespace.Delete(_node);
    }

    [Benchmark]
    public void InProcessNetlink()
    {
        _datapath!.Setup(_request!);
        _datapath.Teardown(_request!);
    }

    [Benchmark(Baseline = true)]
    public void ShellOutToIp()
    {
        var n = _node;
        var p = _pod;
        var v = _hostVeth;
        Ip("-n", n, "link", "del", v); // the stale-veth removal upstream does (fails harmlessly when absent)
        Ip("-n", n, "link", "add", v, "mtu", "9001", "address", "02:00:00:00:be:01", "type", "veth", "peer", "name", "eth0", "mtu", "9001", "netns", p);
        Ip("netns", "exec", n, "sysctl", "-qw", $"net.ipv6.conf.{v}.accept_ra=0", $"net.ipv6.conf.{v}.accept_redirects=1", $"net.ipv6.conf.{v}.forwarding=0");
        Ip("-n", n, "link", "set", v, "up");
        Ip("-n", p, "link", "set", "eth0", "up");
        Ip("-n", p, "route", "replace", "169.254.1.1", "dev", "eth0", "scope", "link");
        Ip("-n", p, "route", "replace", "default", "via", "169.254.1.1", "dev", "eth0");
        Ip("-n", p, "addr", "add", "10.0.2.20/32", "dev", "eth0");
        Ip("-n", p, "neigh", "replace", "169.254.1.1", "lladdr", "02:00:00:00:be:01", "dev", "eth0", "nud", "permanent");
        Ip("-n", n, "route", "replace", "10.0.2.20/32", "dev", v, "scope", "link");
        Ip("-n", n, "rule", "add", "to", "10.0.2.20", "lookup", "main", "prio", "512");
        Ip("-n", n, "rule", "add", "from", "10.0.2.20", "lookup", "2", "prio", "1536");
        // Teardown.
        Ip("-n", n, "rule", "del", "to", "10.0.2.20", "lookup", "main", "prio", "512");
        Ip("-n", n, "rule", "del", "from", "10.0.2.20", "lookup", "2", "prio", "1536");
        Ip("-n", n, "route", "del", "10.0.2.20/32", "dev", v);
        Ip("-n", n, "link", "del", v);
    }

    private static void Ip(params string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
    }
}
