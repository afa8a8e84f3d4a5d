using VpcCni.Aws.Simulation;
using VpcCni.Ipam;

namespace VpcCni.Aws.Tests.Integration;

/// <summary>The IPAM engine's controller driving the simulated VPC through the cloud port, in-process.</summary>
public sealed class EngineOnSimulatedVpcTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("m5.large", 20)]
    [InlineData("m5.4xlarge", 100)]
    public async Task PoolController_PodChurn_GrowsThenShrinksBackAndLeaksNoEni(string instanceType, int pods)
    {
        var cluster = SimulatedCluster.Create(instanceType);
        var cloud = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var options = new IpamOptions
        {
            WarmEniTarget = 1,
            IpCooldownPeriod = TimeSpan.Zero,
            DecreaseThrottle = TimeSpan.Zero,
            MinEniLifetime = TimeSpan.Zero,
            PoolInterval = TimeSpan.FromMilliseconds(50),
            AssignWaitTimeout = TimeSpan.FromSeconds(20),
        };
        using var controller = new PoolController(cloud, options, TimeProvider.System);
        await controller.InitializeAsync(TestContext.Current.CancellationToken);
        var initialEnis = controller.Datastore.EniCount;
        cluster.Vpc.Requests.ResetCounts();
        using var stop = new CancellationTokenSource();
        var loop = controller.RunAsync(stop.Token);

        var keys = Enumerable.Range(0, pods).Select(i => new AttachmentKey("aws-cni", $"c{i}", "eth0")).ToList();
        var addresses = new HashSet<PodAddress>();
        foreach (var key in keys)
        {
            var result = await controller.AssignAsync(key, new PodMetadata("default", key.ContainerId), TestContext.Current.CancellationToken);
            result.Succeeded.Should().BeTrue(result.Detail);
            addresses.Add(result.Address).Should().BeTrue("no address is handed out twice");
        }

        var grown = controller.Datastore.EniCount;
        grown.Should().BeGreaterThan(initialEnis);
        foreach (var key in keys)
        {
            (await controller.UnassignAsync(key, TestContext.Current.CancellationToken)).Known.Should().BeTrue();
        }

        var expected = PoolPlanner.Plan(VpcCni.Aws.Limits.InstanceLimitsCatalog.Get(instanceType), new IpamOptions { WarmEniTarget = 1 }, 0).Enis;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (controller.Datastore.EniCount != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        await stop.CancelAsync();
        await loop.ContinueWith(_ => { }, TaskScheduler.Default);
        controller.Datastore.EniCount.Should().Be(expected, "the pool shrinks back to the planner's converged pool");
        controller.Datastore.GetStats().AssignedIPs.Should().Be(0);
        var counts = cluster.Vpc.Requests.Counts;
        cluster.Vpc.DescribeNetworkInterfaces([], []).Items.Where(e => e.Attachment is null)
            .Should().BeEmpty("every ENI the pool released was deleted, none leaked");

        output.WriteLine($"{instanceType}, {pods} pods up and down: ENIs {initialEnis} → {grown} → {controller.Datastore.EniCount}; EC2 calls {counts.Values.Sum()}: " +
            string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}")));
    }
}
