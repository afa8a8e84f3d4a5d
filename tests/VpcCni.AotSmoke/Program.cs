using VpcCni.Cni;

// Exercises each library once so the AOT compiler sees real call paths, and exits 0 when they work.
var request = CniEnvironment.Parse(new Dictionary<string, string?> { ["CNI_COMMAND"] = "VERSION" });
var version = new CniVersionResult(CniVersion.V1_1_0, CniVersion.Supported).ToJsonUtf8();
var config = NetworkConfig.Parse("""{"cniVersion":"1.0.0","name":"aot","type":"vpc-cni"}"""u8);
var result = CniResult.Parse("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.5/24"}}"""u8, CniVersion.V0_2_0);
var converted = result.ConvertTo(CniVersion.V1_1_0);
Console.WriteLine($"{request.Command} {version.Length} {config.Name} {converted.Ips.Count}");
return converted.Ips.Count == 1 ? 0 : 1;
