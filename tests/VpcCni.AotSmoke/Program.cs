using System.Net;
using VpcCni.Aws.Limits;
using VpcCni.Cni;
using VpcCni.Hosting.Rpc;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Run by a CNI runtime (CNI_COMMAND set): a minimal plugin on the codec's runner, so tests can drive the
// Native AOT runner through libcni. Otherwise: exercise each library once and exit 0 when they work.
if (Environment.GetEnvironmentVariable("CNI_COMMAND") is not null)
{
    return await CniPluginRunner.RunProcessAsync(new SmokePlugin(), new CniPluginRunnerOptions { Diagnostics = Console.Error });
}

var request = CniEnvironment.Parse(new Dictionary<string, string?> { ["CNI_COMMAND"] = "VERSION" });
var version = new CniVersionResult(CniVersion.V1_1_0, CniVersion.Supported).ToJsonUtf8();
var config = NetworkConfig.Parse("""{"cniVersion":"1.0.0","name":"aot","type":"vpc-cni"}"""u8);
var result = CniResult.Parse("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.5/24"}}"""u8, CniVersion.V0_2_0);
var converted = result.ConvertTo(CniVersion.V1_1_0);
using var channel = IpamdChannel.Create("unix:///nonexistent/ipamd.sock", TimeSpan.FromSeconds(1));
var client = new CNIBackend.CNIBackendClient(channel);
var reply = new AddNetworkReply { Success = true, IPAllocationMetadata = { new IPAllocationMetadata { IPv4Addr = "10.0.0.5" } } };
var roundTrip = AddNetworkReply.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(reply));
Console.WriteLine($"{client.GetType().Name} {roundTrip.IPAllocationMetadata[0].IPv4Addr}");
var limits = InstanceLimitsCatalog.Get("m5.large");
var cluster = VpcCni.Aws.Simulation.SimulatedCluster.Create("m5.large");
Console.WriteLine($"{limits.MaxEnis} {cluster.GetType().Name}");
var plan = VpcCni.Ipam.PoolPlanner.Plan(limits, new VpcCni.Ipam.IpamOptions(), 10);
Console.WriteLine(plan.ToJson());
var vethName = VpcCni.Linux.Pods.PodNetworkDatapath.HostVethName("eni", "default", "web-0");
Console.WriteLine(vethName);
Console.WriteLine($"{request.Command} {version.Length} {config.Name} {converted.Ips.Count}");
return converted.Ips.Count == 1 ? 0 : 1;

/// <summary>
/// Test fixture plugin: ADD answers with the address asked for in CNI_ARGS IP=... (the CNI convention) and
/// echoes prevResult's interfaces; it also writes to Console.Out to prove the runner keeps stdout clean.
/// </summary>
internal sealed class SmokePlugin : ICniPlugin
{
    public ValueTask<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Console.WriteLine("stray output that must not reach stdout");
        var ip = request.Environment.Args.Get("IP") ?? throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "CNI_ARGS needs IP=<address/prefix>");
        if (!IPAddressAndPrefix.TryParse(ip, out var address))
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "invalid IP in CNI_ARGS", ip);
        }

        return ValueTask.FromResult(new CniResult
        {
            CniVersion = CniVersion.V1_1_0,
            Interfaces = [new CniInterface(request.Environment.IfName) { Sandbox = request.Environment.NetNs, Mtu = 9001 }],
            Ips = [new CniIPConfig(address) { Interface = 0, Gateway = IPAddress.Parse("169.254.1.1") }],
            Routes = [new CniRoute(IPAddressAndPrefix.Parse("0.0.0.0/0")) { Gateway = IPAddress.Parse("169.254.1.1") }],
        });
    }

    public ValueTask DeleteAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask CheckAsync(CniRequest request, CancellationToken cancellationToken) =>
        request.Config.PrevResult is { Ips.Count: > 0 }
            ? ValueTask.CompletedTask
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, "CHECK needs prevResult with the ADD result");

    public ValueTask StatusAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask GarbageCollectAsync(CniRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
