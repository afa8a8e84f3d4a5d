using System.Net;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>Calls that reach the daemon while it is still initialising (its gRPC server listens before the record is loaded).</summary>
public sealed class IpamdNodeInitialisationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-init-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static DelNetworkRequest Del(string containerId) => new() { NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0" };

    private (IpamdNode Node, HeldInitCloud Cloud) NewNode(TimeProvider time)
    {
        var cluster = SimulatedCluster.Create("m5.large");
        var cloud = new HeldInitCloud(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId));
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(_directory, "ipam.json"),
            Ipam = new IpamOptions(),
        };
        return (DaemonNodes.Create(cloud, settings, new NoNodeNetwork(), time), cloud);
    }

    [Fact]
    public async Task DelNetworkAsync_WhileInitialising_WaitsForTheNodeThenReleases()
    {
        var (node, cloud) = NewNode(TimeProvider.System);
        await using var _ = node;
        var start = node.StartAsync(Ct);
        var assigned = false;
        try
        {
            var del = node.DelNetworkAsync(Del("c1"), Ct);
            await Task.Delay(100, Ct);
            del.IsCompleted.Should().BeFalse("the record is not loaded yet, so the DEL cannot be answered");

            cloud.Release();
            await start;
            var reply = await del;

            reply.Success.Should().BeTrue();
            reply.IPAllocationMetadata.Should().BeEmpty();
            assigned = (await node.AddNetworkAsync(new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "c2", IfName = "eth0" }, Ct)).Success;
        }
        finally
        {
            cloud.Release();
        }

        assigned.Should().BeTrue("the node serves once initialised");
    }

    [Fact]
    public async Task DelNetworkAsync_InitialisationTakesTooLong_RefusedSoTheRuntimeRetries()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (node, cloud) = NewNode(time);
        await using var _ = node;
        var start = node.StartAsync(Ct);
        try
        {
            var del = node.DelNetworkAsync(Del("c1"), Ct);
            while (!del.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(10, Ct);
            }

            (await del).Success.Should().BeFalse("an unloaded record cannot say the pod is unknown");
        }
        finally
        {
            cloud.Release();
            await start.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }
    }

    /// <summary>The cloud's first ENI listing (the node's initialisation) waits until released.</summary>
    private sealed class HeldInitCloud(IEniProvider inner) : IEniProvider
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

        public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) => inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

        public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken)
        {
            await _release.Task.WaitAsync(cancellationToken);
            return await inner.DescribeInstanceEnisAsync(cancellationToken);
        }

        public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) => inner.CreateAndAttachEniAsync(request, cancellationToken);

        public ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) => inner.AssignAsync(eniId, unit, count, cancellationToken);

        public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken) => inner.UnassignAsync(eniId, cidrs, cancellationToken);

        public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) => inner.DetachAndDeleteEniAsync(eniId, cancellationToken);
    }
}
