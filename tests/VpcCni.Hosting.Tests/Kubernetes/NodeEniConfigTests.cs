using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cloud;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class NodeEniConfigTests : IAsyncDisposable
{
    private const string Zone = "topology.kubernetes.io/zone";
    private static readonly InformerTiming Fast = new() { MinBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) };
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private FakeListWatch<EniConfigInfo>? _configs;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }

    private async Task<NodeEniConfig> StartAsync(IReadOnlyList<EniConfigInfo> configs, string zone = "us-west-2a")
    {
        var node = new Informer<NodeInfo>(
            new FakeListWatch<NodeInfo>(n => n.Name, [new NodeInfo("n1", 29, new Dictionary<string, string> { [Zone] = zone })]), Fast, TimeProvider.System, NullLogger.Instance);
        _configs = new FakeListWatch<EniConfigInfo>(c => c.Name, configs);
        var eniConfigs = new Informer<EniConfigInfo>(_configs, Fast, TimeProvider.System, NullLogger.Instance);
        _loops.Add(node.RunAsync(_stop.Token));
        _loops.Add(eniConfigs.RunAsync(_stop.Token));
        await Task.WhenAll(node.Synced, eniConfigs.Synced).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return new NodeEniConfig(node, eniConfigs, new KubernetesApiSettings { NodeName = "n1", CustomNetworking = true, EniConfigLabelKey = Zone });
    }

    private static EniCreateRequest Request => new(AddressUnit.SecondaryIPv4, 3);

    [Fact]
    public async Task Place_OneSubnet_SetsSubnetIdAndGroups()
    {
        var placement = await StartAsync([new EniConfigInfo("us-west-2a", ["subnet-a"], ["sg-1"])]);

        var placed = placement.Place(Request);

        placed.SubnetId.Should().Be("subnet-a");
        placed.SubnetIds.Should().BeNull();
        placed.SecurityGroupIds.Should().Equal("sg-1");
    }

    [Fact]
    public async Task Place_SeveralSubnetsNoGroups_LetsTheProviderChooseWithThePrimarysGroups()
    {
        var placement = await StartAsync([new EniConfigInfo("us-west-2a", ["subnet-a", "subnet-b"], [])]);

        var placed = placement.Place(Request);

        placed.SubnetId.Should().BeNull();
        placed.SubnetIds.Should().Equal("subnet-a", "subnet-b");
        placed.SecurityGroupIds.Should().BeNull("no groups in the ENIConfig means the primary ENI's, as upstream");
    }

    [Fact]
    public async Task Place_EniConfigChanges_TheNextEniFollowsIt()
    {
        var placement = await StartAsync([new EniConfigInfo("us-west-2a", ["subnet-a"], [])]);

        _configs!.Push(WatchEventKind.Modified, new EniConfigInfo("us-west-2a", ["subnet-c"], []));
        for (var i = 0; i < 200 && placement.Place(Request).SubnetId != "subnet-c"; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        placement.Place(Request).SubnetId.Should().Be("subnet-c");
    }

    [Theory]
    [InlineData("us-west-2b", "ENIConfig \"us-west-2b\"", "not available")]
    [InlineData("us-west-2a", "ENIConfig \"us-west-2a\" cannot be used", "spec.subnet is missing")]
    public async Task Place_MissingOrMalformedEniConfig_ThrowsInvalidConfigurationNamingIt(string zone, string named, string why)
    {
        var placement = await StartAsync([new EniConfigInfo("us-west-2a", [], [], "spec.subnet is missing (and spec.subnets is empty)")], zone);

        var act = () => placement.Place(Request);

        act.Should().Throw<CloudException>().Where(e => e.Kind == CloudErrorKind.InvalidConfiguration)
            .WithMessage($"*{named}*").WithMessage($"*{why}*");
    }
}
