using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VpcCni.Aws;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.DependencyInjection;

public sealed class AddVpcCniIpamTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-ipam-di-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static IHost BuildHost(Action<IServiceCollection> compose)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        compose(builder.Services);
        return builder.Build();
    }

    /// <summary>Starts the host and waits until its engine serves assignments.</summary>
    private static async Task<IpamEngine> StartedEngineAsync(IHost host)
    {
        await host.StartAsync(Ct);
        var engine = host.Services.GetRequiredService<IpamEngine>();
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return engine;
    }

    private static readonly AttachmentKey Pod = new("aws-cni", "c0ffee", "eth0");

    [Fact]
    public void AddVpcCniIpam_RequestPriority_IsThePoolController()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        using var host = BuildHost(s => s.AddSingleton<IEniProvider>(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId)).AddVpcCniIpam(_ => { }));

        // The EC2 provider asks this (resolved at its first request) whether its requests may wait.
        host.Services.GetRequiredService<ICloudRequestPriority>().Should().BeSameAs(host.Services.GetRequiredService<PoolController>());
    }

    [Fact]
    public async Task AddVpcCniIpam_HostedEngineWithBackingStore_ServesAndARestartedHostRestoresTheAllocation()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        var cloud = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var path = Path.Combine(_directory, "ipam.json");
        void Compose(IServiceCollection s) => s.AddSingleton<IEniProvider>(cloud).AddVpcCniIpam(o => o.BackingStorePath = path);

        PodAddress assigned;
        using (var host = BuildHost(Compose))
        {
            var engine = await StartedEngineAsync(host);
            var result = await engine.Controller.AssignAsync(Pod, new PodMetadata("default", "web"), Ct);
            result.Succeeded.Should().BeTrue(result.Detail);
            assigned = result.Address;
            await host.StopAsync(Ct);
        }

        File.Exists(path).Should().BeTrue("stopping the engine compacts the durable record into the checkpoint");
        using (var restarted = BuildHost(Compose))
        {
            var engine = await StartedEngineAsync(restarted);

            engine.Controller.Datastore.TryGetAssignment(Pod, out var record, out _, out _).Should().BeTrue("one option gave the engine crash safety");
            record.Address.Should().Be(assigned);
            await restarted.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task AddVpcCniIpam_LoggingAddedAfterwards_EngineLogsReachIt()
    {
        var capture = new CapturingLoggerProvider();
        using var provider = new ServiceCollection().AddVpcCniSimulatedCloud().AddVpcCniIpam().AddLogging(b => b.AddProvider(capture)).BuildServiceProvider();
        var engine = provider.GetRequiredService<IpamEngine>();

        await engine.StartAsync(Ct);
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await engine.StopAsync(Ct);

        capture.Messages.Should().Contain(m => m.Contains("without a durable record", StringComparison.Ordinal),
            "an engine without a backing store says so, through the embedder's logging registered after the engine");
        capture.Messages.Should().Contain(m => m.StartsWith("IPAM card 0", StringComparison.Ordinal), "the pool controller logs through it too");
    }

    [Fact]
    public async Task AddVpcCniIpam_StartSteps_RunInOrderBeforeThePoolInitialises()
    {
        var order = new ConcurrentQueue<string>();
        using var host = BuildHost(s => s
            .AddVpcCniSimulatedCloud()
            .AddSingleton<IIpamStartStep>(sp => new RecordingStep("first", order, sp))
            .AddSingleton<IIpamStartStep>(sp => new RecordingStep("second", order, sp))
            .AddVpcCniIpam());

        await host.StartAsync(Ct);
        await host.Services.GetRequiredService<IpamEngine>().Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await host.StopAsync(Ct);

        order.Should().Equal("first (pool not initialised)", "second (pool not initialised)");
    }

    [Fact]
    public async Task StartAsync_FailingStartStep_FaultsReadyWithItsErrorAndServesNothing()
    {
        using var provider = new ServiceCollection()
            .AddVpcCniSimulatedCloud()
            .AddSingleton<IIpamStartStep>(new FailingStep())
            .AddVpcCniIpam()
            .BuildServiceProvider();
        var engine = provider.GetRequiredService<IpamEngine>();

        await engine.StartAsync(Ct);
        var ready = () => engine.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        await ready.Should().ThrowAsync<InvalidOperationException>().WithMessage("host network not ready");
        var pool = () => engine.Controller.Datastore;
        pool.Should().Throw<InvalidOperationException>("the pool was never initialised");
        await engine.StopAsync(Ct);
    }

    [Fact]
    public async Task StopAsync_AfterFailedStarts_LeavesTheDurableRecordForTheNextStart()
    {
        // A node agent whose start step fails (IMDS not answering yet) is restarted; each failed run must leave the
        // record exactly as it was, or the next good start restores nothing and hands running pods' addresses out again.
        var cluster = SimulatedCluster.Create("m5.large");
        var cloud = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
        var path = Path.Combine(_directory, "ipam.json");
        PodAddress assigned;
        using (var host = BuildHost(s => s.AddSingleton<IEniProvider>(cloud).AddVpcCniIpam(o => o.BackingStorePath = path)))
        {
            var engine = await StartedEngineAsync(host);
            assigned = (await engine.Controller.AssignAsync(Pod, new PodMetadata("default", "web"), Ct)).Address;
            await host.StopAsync(Ct);
        }

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using var failing = new ServiceCollection()
                .AddSingleton<IEniProvider>(cloud)
                .AddSingleton<IIpamStartStep>(new FailingStep())
                .AddVpcCniIpam(o => o.BackingStorePath = path)
                .BuildServiceProvider();
            var engine = failing.GetRequiredService<IpamEngine>();
            await engine.StartAsync(Ct);
            var ready = () => engine.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await ready.Should().ThrowAsync<InvalidOperationException>();
            await engine.StopAsync(Ct);
        }

        using var healthy = BuildHost(s => s.AddSingleton<IEniProvider>(cloud).AddVpcCniIpam(o => o.BackingStorePath = path));
        var restored = await StartedEngineAsync(healthy);
        restored.Controller.Datastore.TryGetAssignment(Pod, out var record, out _, out _).Should().BeTrue("failed starts must not erase the record");
        record.Address.Should().Be(assigned);
        await healthy.StopAsync(Ct);
    }

    [Fact]
    public async Task StartAsync_CalledTwiceAndStoppedTwice_InitialisesOnceAndStopsCleanly()
    {
        var steps = 0;
        using var provider = new ServiceCollection()
            .AddVpcCniSimulatedCloud()
            .AddSingleton<IIpamStartStep>(new CountingStep(() => Interlocked.Increment(ref steps)))
            .AddVpcCniIpam()
            .BuildServiceProvider();
        var engine = provider.GetRequiredService<IpamEngine>();

        await engine.StartAsync(Ct);
        await engine.StartAsync(Ct);
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await engine.StopAsync(Ct);
        await engine.StopAsync(Ct);

        steps.Should().Be(1, "a node agent driving the engine and a host holding it start it once between them");
        engine.ExecuteTask!.IsCompletedSuccessfully.Should().BeTrue("the pool loop ended on the stop");
    }

    [Fact]
    public void AddVpcCniIpam_RegisteredTwice_OneHostedEngine()
    {
        using var provider = new ServiceCollection().AddVpcCniSimulatedCloud().AddVpcCniIpam().AddVpcCniIpam(o => o.WarmIpTarget = 3).BuildServiceProvider();

        provider.GetServices<IHostedService>().Should().ContainSingle();
        provider.GetRequiredService<IOptions<IpamOptions>>().Value.WarmIpTarget.Should().Be(3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/var/run/aws-node/")]
    public async Task AddVpcCniIpam_BackingStorePathNotAFile_HostStartFailsNamingTheVariable(string path)
    {
        using var host = BuildHost(s => s.AddVpcCniSimulatedCloud().AddVpcCniIpam(o => o.BackingStorePath = path));

        var start = () => host.StartAsync(Ct);

        await start.Should().ThrowAsync<OptionsValidationException>().WithMessage("*AWS_VPC_K8S_CNI_BACKING_STORE*");
    }

    [Fact]
    public void AddVpcCniIpam_FromVariables_BindsTheBackingStore()
    {
        var variables = new Dictionary<string, string> { ["AWS_VPC_K8S_CNI_BACKING_STORE"] = "/run/ipam.json", ["WARM_IP_TARGET"] = "2" };
        using var provider = new ServiceCollection().AddVpcCniSimulatedCloud().AddVpcCniIpam(k => variables.GetValueOrDefault(k)).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<IpamOptions>>().Value;

        options.BackingStorePath.Should().Be("/run/ipam.json");
        options.WarmIpTarget.Should().Be(2);
    }

    [Fact]
    public void CopyTo_EverySetting_IsCopied()
    {
        var source = new IpamOptions();
        var index = 0;
        foreach (var property in typeof(IpamOptions).GetProperties().Where(p => p.CanWrite))
        {
            index++;
            object value = property.PropertyType switch
            {
                var t when t == typeof(int) || t == typeof(int?) => 100 + index,
                var t when t == typeof(bool) => !(bool)property.GetValue(source)!,
                var t when t == typeof(TimeSpan) => TimeSpan.FromSeconds(100 + index),
                var t when t == typeof(string) => "/tmp/record-" + index,
                var t when t == typeof(PoolPolicyKind) => PoolPolicyKind.DemandAware,
                var t when t == typeof(PoolLoopMode) => PoolLoopMode.FixedInterval,
                var t => throw new InvalidOperationException($"add a value for {t} to this test"),
            };
            property.SetValue(source, value);
        }

        var target = new IpamOptions();
        source.CopyTo(target);

        target.Should().BeEquivalentTo(source);
    }

    private sealed class RecordingStep(string name, ConcurrentQueue<string> order, IServiceProvider services) : IIpamStartStep
    {
        public Task BeforeInitializeAsync(CancellationToken cancellationToken)
        {
            var initialised = true;
            try
            {
                _ = services.GetRequiredService<PoolController>().Datastore;
            }
            catch (InvalidOperationException)
            {
                initialised = false;
            }

            order.Enqueue($"{name} (pool {(initialised ? "initialised" : "not initialised")})");
            return Task.CompletedTask;
        }
    }

    private sealed class FailingStep : IIpamStartStep
    {
        public Task BeforeInitializeAsync(CancellationToken cancellationToken) => Task.FromException(new InvalidOperationException("host network not ready"));
    }

    private sealed class CountingStep(Action count) : IIpamStartStep
    {
        public Task BeforeInitializeAsync(CancellationToken cancellationToken)
        {
            count();
            return Task.CompletedTask;
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Messages);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
