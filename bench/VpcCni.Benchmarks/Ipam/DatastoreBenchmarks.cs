using System.Net;
using BenchmarkDotNet.Attributes;
using VpcCni.Ipam;

namespace VpcCni.Benchmarks.Ipam;

/// <summary>ADD+DEL hot path: one assign and one unassign with 250 pods already placed on 15 ENIs (49 addresses each).</summary>
[MemoryDiagnoser]
public class DatastoreBenchmarks
{
    private PoolDatastore _datastore = null!;
    private AttachmentKey _key;
    private PodMetadata _metadata = null!;

    [Params(false, true)]
    public bool PrefixDelegation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Cooldown 0: with a cooldown, a tight loop would park every address within the cooldown window.
        _datastore = new PoolDatastore(0, PrefixDelegation, TimeSpan.Zero, TimeProvider.System);
        uint next = 0x0A000000;
        for (var e = 0; e < 15; e++)
        {
            _datastore.AddEni(new EniRegistration($"eni-{e}", e, e == 0, e + 1, "subnet"));
            if (PrefixDelegation)
            {
                for (var p = 0; p < 4; p++, next += 16)
                {
                    _datastore.AddCidr($"eni-{e}", new IPNetwork(new PodAddress(next).ToIPAddress(), 28));
                }
            }
            else
            {
                for (var i = 0; i < 49; i++)
                {
                    _datastore.AddCidr($"eni-{e}", new IPNetwork(new PodAddress(next++).ToIPAddress(), 32));
                }
            }
        }

        _metadata = new PodMetadata("default", "bench");
        for (var p = 0; p < 250; p++)
        {
            _datastore.Assign(new AttachmentKey("aws-cni", $"pod-{p}", "eth0"), _metadata);
        }

        _key = new AttachmentKey("aws-cni", "bench-pod", "eth0");
    }

    [Benchmark(Description = "Assign+Unassign pair (250 pods, 15 ENIs)")]
    public PodAddress AssignUnassign()
    {
        var a = _datastore.Assign(_key, _metadata);
        _datastore.Unassign(_key);
        return a.Address;
    }
}
