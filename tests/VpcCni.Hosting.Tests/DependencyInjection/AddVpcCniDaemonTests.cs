using VpcCni.Aws;
using VpcCni.Configuration;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Configuration;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;

namespace VpcCni.Hosting.Tests.DependencyInjection;

public sealed class AddVpcCniDaemonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-di-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DaemonSettings Simulated(string instanceType = "m5.large") => new()
    {
        Cloud = CloudKind.Simulated,
        SimulatedInstanceType = instanceType,
        ManageHostNetwork = false,
        CheckpointPath = Path.Combine(_dir, "ipam.json"),
    };

    private static ServiceProvider Build(Action<IServiceCollection> compose)
    {
        var services = new ServiceCollection();
        compose(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static AddNetworkRequest Add(string containerId) => new()
    {
        NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = containerId,
    };

    private static DelNetworkRequest Del(string containerId) => new() { NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0" };

    [Fact]
    public async Task AddVpcCniDaemon_SimulatedCloud_ResolvesANodeThatStartsAssignsAndStops()
    {
        var settings = Simulated();
        await using var provider = Build(s => s.AddVpcCniDaemon(settings));

        provider.GetRequiredService<DaemonSettings>().Should().BeSameAs(settings);
        provider.GetRequiredService<INodeNetwork>().Should().BeOfType<NoNodeNetwork>("host networking is off");
        provider.GetRequiredService<IEniProvider>().Should().BeOfType<SimulatedEniProvider>();
        var node = provider.GetRequiredService<IpamdNode>();
        node.Metrics.Should().BeSameAs(provider.GetRequiredService<IpamdMetrics>());

        await node.StartAsync(Ct);
        node.IsReady.Should().BeTrue(node.State);
        node.Instance!.InstanceType.Should().Be("m5.large");
        var added = await node.AddNetworkAsync(Add("c1"), Ct);
        added.Success.Should().BeTrue(added.FailureReason);
        var address = IPAddress.Parse(added.IPAllocationMetadata[0].IPv4Addr);
        IPNetwork.Parse("10.0.0.0/16").Contains(address).Should().BeTrue();
        var released = await node.DelNetworkAsync(Del("c1"), Ct);
        released.IPAllocationMetadata[0].IPv4Addr.Should().Be(address.ToString());

        await node.StopAsync(Ct);
        node.State.Should().Be("stopping");
        File.Exists(settings.CheckpointPath).Should().BeTrue("the graceful stop compacts the record");
    }

    [Fact]
    public async Task AddVpcCniDaemon_Settings_RegistersAHostVethReaperKeepingToTheirVethPrefix()
    {
        var settings = Simulated() with { VethPrefix = "abc" };
        await using var provider = Build(s => s.AddVpcCniDaemon(settings));

        var reaper = provider.GetRequiredService<VpcCni.Linux.Pods.HostVethReaper>();
        var result = await reaper.RemoveAsync(5, "eni0123456789a", callerNamespace: null, Ct);

        result.Outcome.Should().Be(VpcCni.Linux.Pods.HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("prefix 'abc'");
    }

    [Fact]
    public async Task RemoveHostVeth_ServiceWithoutReaper_LeavesTheVethToThePlugin()
    {
        await using var provider = Build(s => s.AddVpcCniDaemon(Simulated()));
        var service = new PluginBackendService(provider.GetRequiredService<IpamdNode>(), reaper: null);

        var reply = await service.RemoveHostVeth(new RemoveHostVethRequest { IfIndex = 5, Name = "eni0123456789a" }, new FakeCallContext());

        reply.Removed.Should().BeFalse();
        reply.Reason.Should().Contain("does not remove host veths");
    }

    [Fact]
    public async Task RemoveHostVeth_OverTcp_RefusedBeforeAnyLookup()
    {
        var settings = Simulated();
        await using var provider = Build(s => s.AddVpcCniDaemon(settings));
        var service = new PluginBackendService(provider.GetRequiredService<IpamdNode>(), provider.GetRequiredService<VpcCni.Linux.Pods.HostVethReaper>());

        var reply = await service.RemoveHostVeth(new RemoveHostVethRequest { IfIndex = 5, Name = "eni0123456789a" }, new FakeCallContext("ipv4:127.0.0.1:40000"));

        reply.Removed.Should().BeFalse();
        reply.Reason.Should().Contain("only over the Unix socket");
    }

    [Fact]
    public async Task AddPodNetwork_WiringOff_NotAttemptedNamingTheSettingAndNothingAssigned()
    {
        var settings = Simulated();
        await using var provider = Build(s => s.AddVpcCniDaemon(settings));
        provider.GetService<DaemonPodWiring>().Should().BeNull("VPC_CNI_DAEMON_POD_WIRING is off by default");
        var service = new PluginBackendService(provider.GetRequiredService<IpamdNode>(), wiring: provider.GetService<DaemonPodWiring>());

        var reply = await service.AddPodNetwork(new AddPodNetworkRequest { Add = Add("dw") }, new FakeCallContext());

        reply.Outcome.Should().Be(PodWiringOutcome.PodWiringNotAttempted);
        reply.Detail.Should().Contain("VPC_CNI_DAEMON_POD_WIRING");
    }

    [Fact]
    public async Task AddPodNetwork_OverTcp_RefusedBeforeAnything()
    {
        var settings = Simulated() with { WirePods = true };
        await using var provider = Build(s => s.AddVpcCniDaemon(settings));
        var service = new PluginBackendService(provider.GetRequiredService<IpamdNode>(), wiring: provider.GetRequiredService<DaemonPodWiring>());

        var add = await service.AddPodNetwork(new AddPodNetworkRequest { Add = Add("dw") }, new FakeCallContext("ipv4:127.0.0.1:40000"));
        var del = await service.DelPodNetwork(new DelPodNetworkRequest(), new FakeCallContext("ipv4:127.0.0.1:40000"));

        add.Outcome.Should().Be(PodWiringOutcome.PodWiringNotAttempted);
        add.Detail.Should().Contain("only over the Unix socket");
        del.Outcome.Should().Be(PodWiringOutcome.PodWiringNotAttempted);
    }

    private sealed class FakeCallContext(string peer = "unknown") : Grpc.Core.ServerCallContext
    {
        protected override string MethodCore => "/vpccni.v1.PluginBackend/RemoveHostVeth";

        protected override string HostCore => "localhost";

        protected override string PeerCore => peer;

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Grpc.Core.Metadata RequestHeadersCore => [];

        protected override CancellationToken CancellationTokenCore => Ct;

        protected override Grpc.Core.Metadata ResponseTrailersCore => [];

        protected override Grpc.Core.Status StatusCore { get; set; }

        protected override Grpc.Core.WriteOptions? WriteOptionsCore { get; set; }

        protected override Grpc.Core.AuthContext AuthContextCore => new(null, []);

        protected override Grpc.Core.ContextPropagationToken CreatePropagationTokenCore(Grpc.Core.ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Grpc.Core.Metadata responseHeaders) => Task.CompletedTask;
    }

    [Fact]
    public async Task AddVpcCniDaemon_DisposingTheContainer_ClosesTheNodesRecordAndASecondDisposalIsHarmless()
    {
        var settings = Simulated();
        var provider = Build(s => s.AddVpcCniDaemon(settings));
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);
        (await node.AddNetworkAsync(Add("kept"), Ct)).Success.Should().BeTrue();
        await node.StopAsync(Ct);
        OpenFilesUnder(_dir).Should().NotBeEmpty("the running node holds its journal open");

        await provider.DisposeAsync();

        OpenFilesUnder(_dir).Should().BeEmpty("the container disposed the node it built");
        var again = async () => await node.DisposeAsync();
        await again.Should().NotThrowAsync("disposal is idempotent");
        await using var next = Build(s => s.AddVpcCniDaemon(settings));
        var restored = next.GetRequiredService<IpamdNode>();
        await restored.StartAsync(Ct);
        restored.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "kept", IfName = "eth0" }).Found.Should().BeTrue();
        await restored.StopAsync(Ct);
    }

    /// <summary>Files under <paramref name="directory"/> this process has open (from /proc/self/fd).</summary>
    private static List<string> OpenFilesUnder(string directory)
    {
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(directory + "/", StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // The descriptor closed while listing.
            }
        }

        return open;
    }

    [Fact]
    public async Task AddVpcCniDaemon_EmbedderCloudAndNetworkRegisteredFirst_Win()
    {
        var cluster = SimulatedCluster.Create("t3.small");
        var ownCloud = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var ownNetwork = new RecordingNodeNetwork();
        // Host networking on: the embedder's network must still replace the Linux datapath (which is never built here).
        var settings = Simulated("m5.large") with { ManageHostNetwork = true };
        await using var provider = Build(s => s
            .AddSingleton<IEniProvider>(ownCloud)
            .AddSingleton<INodeNetwork>(ownNetwork)
            .AddVpcCniDaemon(settings));

        provider.GetRequiredService<INodeNetwork>().Should().BeSameAs(ownNetwork);
        provider.GetRequiredService<IEniLifecycleHook>().Should().BeSameAs(ownNetwork);
        provider.GetRequiredService<IEniProvider>().Should().BeSameAs(ownCloud);
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);

        node.Instance!.InstanceType.Should().Be("t3.small", "the node runs on the embedder's cloud");
        ownNetwork.SetUp.Should().Be(cluster.Nodes[0].InstanceId);
        ownNetwork.EnisAdded.Should().BeGreaterThan(0);
        await node.StopAsync(Ct);
    }

    [Fact]
    public async Task AddVpcCniDaemon_AwsWithoutRegion_AsksImdsAndServesOverTheWire()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        await using var emulator = await LoopbackServer.StartAsync(prefix => new CloudEmulatorServer(cluster.Vpc, prefix), s => s.Start());
        var variables = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = "test", ["AWS_SECRET_ACCESS_KEY"] = "test-secret", ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_ENDPOINT_URL_EC2"] = emulator.Prefix, ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = emulator.Prefix + "node/0/",
        };
        var settings = Simulated() with { Cloud = CloudKind.Aws };
        await using var provider = Build(s => s.AddVpcCniDaemon(settings, k => variables.GetValueOrDefault(k)));
        var cloud = provider.GetRequiredService<IEniProvider>().Should().BeOfType<OwnedEc2EniProvider>().Subject;
        cloud.Inner.Should().BeNull("without AWS_REGION the EC2 client waits for IMDS to name the region");
        var node = provider.GetRequiredService<IpamdNode>();

        await node.StartAsync(Ct);
        var added = await node.AddNetworkAsync(Add("wire1"), Ct);

        added.Success.Should().BeTrue(added.FailureReason);
        cloud.Inner.Should().NotBeNull();
        node.Instance!.InstanceId.Should().Be(cluster.Nodes[0].InstanceId);
        cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).NetworkInterfaces.SelectMany(e => e.SecondaryIPv4)
            .Should().Contain(IPAddress.Parse(added.IPAllocationMetadata[0].IPv4Addr), "the address was assigned in the VPC through EC2");
        await node.StopAsync(Ct);
    }

    [Fact]
    public async Task AddVpcCniDaemon_FromConfiguration_BindsUpstreamKeysAndServes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VpcCni:WARM_IP_TARGET"] = "4",
            ["VpcCni:MINIMUM_IP_TARGET"] = "6",
            ["VpcCni:AWS_VPC_K8S_CNI_BACKING_STORE"] = Path.Combine(_dir, "from-config.json"),
            ["VpcCni:AWS_VPC_K8S_CNI_VETHPREFIX"] = "abc",
            ["VpcCni:DISABLE_METRICS"] = "true",
        }).Build();
        await using var provider = Build(s => s.AddVpcCniDaemon(configuration.GetSection("VpcCni"),
            d => d with { Cloud = CloudKind.Simulated, ManageHostNetwork = false }));

        var settings = provider.GetRequiredService<DaemonSettings>();
        settings.Ipam.WarmIpTarget.Should().Be(4);
        settings.Ipam.MinimumIpTarget.Should().Be(6);
        settings.VethPrefix.Should().Be("abc");
        settings.MetricsEndpoint.Should().BeNull();
        settings.CheckpointPath.Should().Be(Path.Combine(_dir, "from-config.json"));
        var node = provider.GetRequiredService<IpamdNode>();
        await node.StartAsync(Ct);
        (await node.AddNetworkAsync(Add("cfg1"), Ct)).Success.Should().BeTrue();
        File.Exists(settings.CheckpointPath).Should().BeTrue("the node records where the configuration said");
        await node.StopAsync(Ct);
    }

    [Theory]
    [InlineData("WARM_ENI_TARGET", "many")]
    [InlineData("AWS_VPC_ENI_MTU", "100")]
    [InlineData("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "10.0.0.0")]
    [InlineData("ENABLE_IPv6", "true")]
    public void AddVpcCniDaemon_FromConfigurationInvalidValue_ThrowsNamingTheKey(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        var act = () => new ServiceCollection().AddVpcCniDaemon(configuration, d => d with { Cloud = CloudKind.Simulated, ManageHostNetwork = false });

        act.Should().Throw<InvalidSettingException>().Which.Name.Should().Be(key);
    }

    /// <summary>The embedder's host datapath: records what the node asked of it.</summary>
    private sealed class RecordingNodeNetwork : INodeNetwork
    {
        private int _enisAdded;

        public string? SetUp { get; private set; }

        public int EnisAdded => Volatile.Read(ref _enisAdded);

        public IPodLivenessEvidence? Liveness => null;

        public Task SetupNodeAsync(InstanceIdentity instance, CancellationToken cancellationToken)
        {
            SetUp = instance.InstanceId;
            return Task.CompletedTask;
        }

        public ValueTask OnEniAddedAsync(NetworkInterface eni, int routeTableId, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _enisAdded);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnEniRemovedAsync(NetworkInterface eni, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
