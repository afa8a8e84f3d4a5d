// The READMEs show the regions below verbatim: this sample's README the whole quick-start, VpcCni.Aws's the cloud and
// VpcCni.Ipam's the engine (tests in tests/VpcCni.EndToEnd.Tests keep them equal).
#region quick-start
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VpcCni.Aws;
using VpcCni.Cloud;
using VpcCni.Ipam;

using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
var ct = deadline.Token;
var directory = Directory.CreateTempSubdirectory("ipam-embedder-").FullName;
var backingStore = Path.Combine(directory, "ipam.json");
try
{
    #region cloud
    // An in-process simulated VPC with one m5.large instance: no AWS account, no IMDS, no network. The VPC outlives any
    // node process, so the cloud port lives in a container of its own and both hosts below share it.
    await using var cloudServices = new ServiceCollection()
        .AddVpcCniSimulatedCloud(o => o.InstanceType = "m5.large")
        .BuildServiceProvider();
    var cloud = cloudServices.GetRequiredService<IEniProvider>();
    #endregion

    #region engine
    // The engine is a hosted service over whatever IEniProvider is registered; the backing store makes every
    // assignment durable before it is acknowledged, so a restarted host restores who holds which address.
    IHost BuildNode()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.Services
            .AddSingleton(cloud)
            .AddVpcCniIpam(o =>
            {
                o.BackingStorePath = backingStore; // AWS_VPC_K8S_CNI_BACKING_STORE
                o.WarmIpTarget = 3;                // WARM_IP_TARGET: keep 3 free addresses
            });
        return builder.Build();
    }

    var pods = new[] { "web-0", "web-1", "db-0" };
    var held = new Dictionary<string, PodAddress>();
    using (var node = BuildNode())
    {
        await node.StartAsync(ct);
        var engine = node.Services.GetRequiredService<IpamEngine>();
        await engine.Ready.WaitAsync(ct); // restored from the record and reconciled with the cloud

        foreach (var pod in pods)
        {
            // The CNI attachment key (network name, CNI_CONTAINERID, CNI_IFNAME) owns the address.
            var result = await engine.Controller.AssignAsync(Key(pod), new PodMetadata("default", pod), ct);
            if (!result.Succeeded)
            {
                return Fail($"assign default/{pod}: {result.Failure}: {result.Detail}");
            }

            held[pod] = result.Address;
            Console.WriteLine($"assigned {result.Address} to default/{pod}");
        }

        var released = await engine.Controller.UnassignAsync(Key("web-1"), ct); // it cools down before reuse
        held.Remove("web-1");
        Console.WriteLine($"released {released.Address} from default/web-1");
        await node.StopAsync(ct); // compacts the record
    }
    #endregion

    Console.WriteLine("first host stopped; starting a second host on the same backing store");
    using (var node = BuildNode())
    {
        await node.StartAsync(ct);
        var engine = node.Services.GetRequiredService<IpamEngine>();
        await engine.Ready.WaitAsync(ct);

        // A repeated ADD is idempotent: a key the engine restored gets its own address back, marked as reused.
        foreach (var (pod, address) in held)
        {
            var again = await engine.Controller.AssignAsync(Key(pod), new PodMetadata("default", pod), ct);
            if (!again.Succeeded || !again.Reused || again.Address != address)
            {
                return Fail($"default/{pod} held {address} before the restart, but the restarted engine answered {again}");
            }

            Console.WriteLine($"restored {address} for default/{pod}");
        }

        var gone = await engine.Controller.UnassignAsync(Key("web-1"), ct);
        if (gone.Known)
        {
            return Fail($"default/web-1 was released before the restart, but the restarted engine still held {gone.Address} for it");
        }

        Console.WriteLine("default/web-1 holds nothing after the restart");
        await node.StopAsync(ct);
    }

    Console.WriteLine($"ok: {held.Count} assignments survived the restart");
    return 0;
}
finally
{
    Directory.Delete(directory, recursive: true);
}

static AttachmentKey Key(string pod) => new("aws-cni", $"container-{pod}", "eth0");

static int Fail(string message)
{
    Console.Error.WriteLine($"FAILED: {message}");
    return 1;
}
#endregion
