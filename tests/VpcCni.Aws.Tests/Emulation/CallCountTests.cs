using VpcCni.Cloud;
using Xunit.Sdk;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>EC2 calls the provider makes, counted by the emulator's request gate (figures in docs/benchmarks/aws.md).</summary>
public class CallCountTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EniBroughtIntoService_FiveCalls()
    {
        await using var cloud = await EmulatedCloud.StartAsync("m5.4xlarge");
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();

        await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 29), Ct);

        var counts = cloud.Vpc.Requests.Counts;
        output.WriteLine(string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}")));
        counts.Should().BeEquivalentTo(new Dictionary<string, long>
        {
            ["DescribeInstances"] = 1,
            ["DescribeSubnets"] = 1,
            ["CreateNetworkInterface"] = 1,
            ["AttachNetworkInterface"] = 1,
            ["ModifyNetworkInterfaceAttribute"] = 1,
        });
    }

    [Fact]
    public async Task HundredPodsChurn_SecondaryIpMode_CountsCalls()
    {
        // 100 pods arrive on an m5.4xlarge (29 pod addresses per ENI) with WARM_ENI_TARGET=1-like behaviour:
        // ENIs are created full; then the pods leave and the extra ENIs are returned.
        await using var cloud = await EmulatedCloud.StartAsync("m5.4xlarge");
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        await provider.GetInstanceAsync(Ct);
        cloud.Vpc.Requests.ResetCounts();

        var enis = new List<NetworkInterface>();
        var capacity = 0;
        while (capacity < 100 + 29)
        {
            var eni = await provider.CreateAndAttachEniAsync(new EniCreateRequest(AddressUnit.SecondaryIPv4, 29), Ct);
            enis.Add(eni);
            capacity += eni.SecondaryIPv4.Count;
        }

        await provider.DescribeInstanceEnisAsync(Ct);
        foreach (var eni in enis.Skip(1))
        {
            await provider.DetachAndDeleteEniAsync(eni.Id, Ct);
        }

        var counts = cloud.Vpc.Requests.Counts;
        output.WriteLine($"total={cloud.Vpc.Requests.TotalCount}: " + string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}")));
        enis.Should().HaveCount(5);
        cloud.Vpc.Requests.TotalCount.Should().Be(5 * 5 + 1 + 4 * 3);
    }
}
