using VpcCni.Cni;
using VpcCni.Hosting.Rpc;

// Exercises each library once so the AOT compiler sees real call paths, and exits 0 when they work.
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
Console.WriteLine($"{request.Command} {version.Length} {config.Name} {converted.Ips.Count}");
return converted.Ips.Count == 1 ? 0 : 1;
