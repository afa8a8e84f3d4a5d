using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;

namespace VpcCni.Hosting.Tests.DependencyInjection;

/// <summary>
/// The quick-start of src/VpcCni.Hosting/README.md, compiled and run here; a test in tests/VpcCni.EndToEnd.Tests keeps
/// the README's block equal to the region.
/// </summary>
public sealed class ReadmeQuickStartTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-readme-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task QuickStart_DaemonOnTheSimulatedCloud_AssignsReleasesAndRecordsDurably()
    {
        var ct = TestContext.Current.CancellationToken;
        var checkpointPath = Path.Combine(_dir, "ipam.json");

        #region quick-start
        // Settings under upstream's variable names from any configuration source: in memory here, the environment in a pod.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["WARM_IP_TARGET"] = "3",
            ["AWS_VPC_K8S_CNI_BACKING_STORE"] = checkpointPath,
        });

        // The cloud, the IPAM engine, the datapath and the node over them. What has no upstream variable is set in code:
        // the in-process simulated VPC, and leaving the host's routes and rules alone (it has no real ENIs).
        builder.Services.AddVpcCniDaemon(builder.Configuration, s => s with { Cloud = CloudKind.Simulated, ManageHostNetwork = false });
        using var host = builder.Build();

        // The node answers what the CNI plugin asks over gRPC (upstream's rpc.CNIBackend messages).
        var node = host.Services.GetRequiredService<IpamdNode>();
        await node.StartAsync(ct); // finds the instance, restores the record, fills the warm pool
        var added = await node.AddNetworkAsync(new AddNetworkRequest
        {
            NetworkName = "aws-cni", ContainerID = "c0ffee", IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = "web-0",
        }, ct);
        var address = added.IPAllocationMetadata[0].IPv4Addr; // durable in the backing store before the reply
        var deleted = await node.DelNetworkAsync(new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "c0ffee", IfName = "eth0" }, ct);
        await node.StopAsync(ct); // compacts the record
        #endregion

        added.Success.Should().BeTrue(added.FailureReason);
        System.Net.IPAddress.TryParse(address, out _).Should().BeTrue(address);
        deleted.IPAllocationMetadata[0].IPv4Addr.Should().Be(address);
        node.Controller.Options.WarmIpTarget.Should().Be(3, "WARM_IP_TARGET came from the configuration");
        File.Exists(checkpointPath).Should().BeTrue("AWS_VPC_K8S_CNI_BACKING_STORE came from the configuration");
    }
}
