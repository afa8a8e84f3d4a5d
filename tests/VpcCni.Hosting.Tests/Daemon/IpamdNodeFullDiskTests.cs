using System.Diagnostics;
using VpcCni.Aws.Simulation;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// The checkpoint directory on a small tmpfs of the test's own (mounted under a temp directory, unmounted at the end)
/// that the test fills: a release that cannot be made durable must be refused, never answered with an exception.
/// </summary>
public sealed class IpamdNodeFullDiskTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-fulldisk-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        await RunAsync("umount", "-l", _directory);
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task DelNetworkAsync_ReleaseCannotBeRecorded_RefusedSoTheRuntimeRetriesThenReleasesOnceThereIsRoom()
    {
        (await RunAsync("mount", "-t", "tmpfs", "-o", "size=256k", "vpccni-test", _directory)).Should().Be(0);
        var cluster = SimulatedCluster.Create("m5.4xlarge");
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(_directory, "ipam.json"),
            Ipam = new IpamOptions(),
        };
        await using var node = DaemonNodes.Create(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);
        await node.StartAsync(Ct);
        var addresses = new Dictionary<string, string>();
        for (var i = 0; i < 50; i++)
        {
            var add = await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = $"c{i}", IfName = "eth0" }, Ct);
            add.Success.Should().BeTrue(add.FailureReason);
            addresses[$"c{i}"] = add.IPAllocationMetadata[0].IPv4Addr;
        }

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);

        // tmpfs allocates whole pages: the journal's last page may still take a few records, so DEL pods until one
        // needs a new page.
        string? refusedPod = null;
        foreach (var pod in addresses.Keys)
        {
            var reply = await node.DelNetworkAsync(Del(pod), Ct);
            if (!reply.Success)
            {
                refusedPod = pod;
                break;
            }

            reply.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be(addresses[pod]);
        }

        refusedPod.Should().NotBeNull("a release that cannot be made durable is refused, so that the runtime retries the DEL");
        node.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = refusedPod, IfName = "eth0" }).Found.Should().BeTrue();
        File.Delete(filler);
        var released = await node.DelNetworkAsync(Del(refusedPod!), Ct);
        released.Success.Should().BeTrue();
        released.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be(addresses[refusedPod!]);
    }

    private static DelNetworkRequest Del(string containerId) => new() { NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0" };

    private static void Fill(string path)
    {
        var chunk = new byte[4096];
        try
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full, as intended.
        }
    }

    private static async Task<int> RunAsync(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
