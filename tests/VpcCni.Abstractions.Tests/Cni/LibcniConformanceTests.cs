using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>
/// Our result conversions against libcni's own converters (Debian's libcni 1.1.2 through cnidriver's "convert"),
/// for every version pair libcni knows (it predates 1.1.0).
/// </summary>
public sealed class LibcniConformanceTests
{
    private static readonly string[] LibcniVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    private static readonly string[] Inputs =
    [
        """{"cniVersion":"1.0.0","interfaces":[{"name":"veth1","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","sandbox":"/run/netns/p"}],"ips":[{"interface":1,"address":"10.0.0.5/32","gateway":"169.254.1.1"},{"address":"2001:db8::5/64"},{"address":"10.0.1.5/24"}],"routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"},{"dst":"::/0"},{"dst":"10.9.0.0/16"}],"dns":{"nameservers":["10.0.0.2"],"search":["a"]}}""",
        """{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"version":"6","interface":0,"address":"2001:db8::9/64","gateway":"2001:db8::1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}""",
        """{"cniVersion":"0.2.0","ip4":{"ip":"10.252.0.6/16","gateway":"10.252.0.1","routes":[{"dst":"0.0.0.0/0"}]},"ip6":{"ip":"2001:db8::6/64"},"dns":{"nameservers":["10.252.0.1"]}}""",
        """{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.250.0.4/24","gateway":"10.250.0.1"}],"dns":{}}""",
        """{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}]}""",
    ];

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        for (var i = 0; i < Inputs.Length; i++)
        {
            foreach (var target in LibcniVersions)
            {
                data.Add(i, target);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ConvertTo_SameAsLibcni(int input, string target)
    {
        var json = Inputs[input];
        var libcni = await LibcniConvertAsync(json, target);

        string? ours;
        try
        {
            ours = Encoding.UTF8.GetString(CniResult.Parse(Encoding.UTF8.GetBytes(json)).ConvertTo(target).ToJsonUtf8());
        }
        catch (CniException ex)
        {
            ours = null;
            libcni.Ok.Should().BeFalse($"libcni converted it to {libcni.Result} but we failed with {ex.Message}");
            libcni.Error.Should().Contain(ex.Message);
        }

        if (ours is not null)
        {
            libcni.Ok.Should().BeTrue($"we produced {ours} but libcni failed: {libcni.Error}");
            JsonNode.DeepEquals(WithoutEmptyDns(JsonNode.Parse(ours)), WithoutEmptyDns(libcni.Result)).Should().BeTrue($"ours {ours} vs libcni {libcni.Result!.ToJsonString()}");
        }
    }

    /// <summary>Go always writes "dns":{}; the spec lets an empty optional object be omitted, so both are equal.</summary>
    private static JsonNode? WithoutEmptyDns(JsonNode? node)
    {
        if (node is JsonObject obj && obj["dns"] is JsonObject { Count: 0 })
        {
            obj.Remove("dns");
        }

        return node;
    }

    private static async Task<(bool Ok, JsonNode? Result, string Error)> LibcniConvertAsync(string json, string target)
    {
        var input = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(input, json, TestContext.Current.CancellationToken);
            var start = new ProcessStartInfo(TestTools.CniDriver) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "convert", "-in", input, "-to", target })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            var report = JsonNode.Parse(stdout)!;
            var ok = report["ok"]!.GetValue<bool>();
            return (ok, ok ? report["result"] : null, ok ? "" : report["error"]!["text"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(input);
        }
    }
}
