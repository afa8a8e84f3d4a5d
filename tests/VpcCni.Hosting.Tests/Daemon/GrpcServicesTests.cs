using System.Diagnostics;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;
using PluginWire = VpcCni.Hosting.Plugin.Wire;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>The daemon's rpc.CNIBackend over a real gRPC server: deadlines, unknown pods, client versions.</summary>
public sealed class GrpcServicesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AddNetworkRequest Add(string containerId, string clientVersion = "") => new()
    {
        ClientVersion = clientVersion, NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = containerId,
    };

    /// <summary>The same request as the plugin's client sends it.</summary>
    private static PluginWire.AddNetworkRequest PluginAdd(string containerId, string clientVersion = "") => new()
    {
        ClientVersion = clientVersion, NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = containerId,
    };

    [Fact]
    public async Task AddNetwork_PoolStillGrowingPastTheCallersDeadline_AnswersWithTheCauseBeforeTheDeadline()
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.FromSeconds(60), Ct);
        daemon.Cloud.Hold();
        var free = daemon.Node.Controller.Datastore.GetStats().ReadyIPs;
        for (var i = 0; i < free; i++)
        {
            (await daemon.Node.AddNetworkAsync(Add($"fill-{i}"), TimeSpan.Zero, Ct)).Success.Should().BeTrue();
        }

        using var client = new GrpcIpamdClient(daemon.SocketPath, addNetworkTimeout: TimeSpan.FromSeconds(3));
        var watch = Stopwatch.StartNew();

        var reply = await client.AddNetworkAsync(PluginAdd("waiting"), Ct);

        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3));
        reply.Success.Should().BeFalse();
        reply.FailureReason.Should().Contain("still growing", "the daemon names the cause instead of the client timing out");
    }

    [Fact]
    public async Task GrpcIpamdClient_Defaults_AddNetworkDeadlineCoversTheLongestAssignWaitOthersStayShort()
    {
        await using var server = await DeadlineRecorder.StartAsync(Ct);
        using var client = new GrpcIpamdClient(server.SocketPath);

        await client.AddNetworkAsync(PluginAdd("c1"), Ct);
        await client.DelNetworkAsync(new PluginWire.DelNetworkRequest { ContainerID = "c1" }, Ct);

        server.Backend.AddTimeLeft.Should().BeGreaterThan(Ipam.IpamOptions.MaxAssignWaitTimeout + CniBackendService.DeadlineMargin);
        server.Backend.DelTimeLeft.Should().BeLessThanOrEqualTo(GrpcIpamdClient.DefaultTimeout);
    }

    [Fact]
    public async Task GrpcIpamdClient_NothingListening_AddNetworkFailsAtOnceAsUnreachable()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"vpccni-missing-{Guid.NewGuid():N}.sock");
        using var client = new GrpcIpamdClient(missing);
        var watch = Stopwatch.StartNew();

        var act = () => client.AddNetworkAsync(PluginAdd("c1"), Ct);

        await act.Should().ThrowAsync<IpamdUnreachableException>();
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "the long AddNetwork deadline must not delay a connection failure");
    }

    [Theory]
    [InlineData(130_000, 129_000)]
    [InlineData(2_000, 1_500)]
    [InlineData(0, 0)]
    [InlineData(-5_000, 0)]
    public void WaitWithin_Deadline_KeepsTheMarginBack(int millisecondsLeft, int expectedWait)
    {
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        CniBackendService.WaitWithin(now.AddMilliseconds(millisecondsLeft), now).Should().Be(TimeSpan.FromMilliseconds(expectedWait));
    }

    [Fact]
    public void WaitWithin_NoDeadline_IsUncapped() =>
        CniBackendService.WaitWithin(DateTime.MaxValue, DateTime.UtcNow).Should().BeNull();

    [Fact]
    public async Task DelNetwork_UnknownPod_SucceedsWithNoAddressAndStatusOk()
    {
        // Upstream answers gRPC Unknown "datastore: unknown pod"; its plugin treats that text as success. VpcCni answers
        // OK, Success, no address: upstream's plugin then logs "no valid IP" and succeeds, as does VpcCni's.
        await using var daemon = await DaemonGrpcServer.StartAsync(cancellationToken: Ct);
        using var invoker = Http2UnaryCallInvoker.ForAddress(daemon.SocketPath);
        var client = new CNIBackend.CNIBackendClient(invoker);

        var reply = client.DelNetwork(new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "never-added", IfName = "eth0", Reason = "PodDeleted" },
            new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));

        reply.Success.Should().BeTrue();
        reply.IPAllocationMetadata.Should().BeEmpty();
    }

    [Theory]
    [InlineData("")]
    [InlineData("v1.23.1")]
    [InlineData("1.0.0.0")]
    [InlineData("not-a-version")]
    public async Task AddNetwork_AnyClientVersion_IsServed(string clientVersion)
    {
        // Upstream refuses a ClientVersion unlike its own build (FailedPrecondition); VpcCni serves its own plugin and
        // upstream's aws-cni of any version, since both speak the same rpc.CNIBackend messages.
        await using var daemon = await DaemonGrpcServer.StartAsync(cancellationToken: Ct);
        using var client = new GrpcIpamdClient(daemon.SocketPath);

        var reply = await client.AddNetworkAsync(PluginAdd("c1", clientVersion), Ct);

        reply.Success.Should().BeTrue(reply.FailureReason);
    }

    /// <summary>A CNIBackend that records how much time each call's deadline left it.</summary>
    private sealed class DeadlineRecorder : IAsyncDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-deadline-").FullName;
        private WebApplication? _app;

        public RecordingBackend Backend { get; } = new();

        public string SocketPath => Path.Combine(_directory, "ipamd.sock");

        public static async Task<DeadlineRecorder> StartAsync(CancellationToken cancellationToken)
        {
            var recorder = new DeadlineRecorder();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(recorder.SocketPath, o => o.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(recorder.Backend);
            recorder._app = builder.Build();
            recorder._app.MapGrpcService<RecordingBackend>();
            await recorder._app.StartAsync(cancellationToken);
            return recorder;
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }

            Directory.Delete(_directory, recursive: true);
        }

        public sealed class RecordingBackend : CNIBackend.CNIBackendBase
        {
            public TimeSpan AddTimeLeft { get; private set; }

            public TimeSpan DelTimeLeft { get; private set; }

            public override Task<AddNetworkReply> AddNetwork(AddNetworkRequest request, ServerCallContext context)
            {
                AddTimeLeft = context.Deadline - DateTime.UtcNow;
                return Task.FromResult(new AddNetworkReply { Success = true });
            }

            public override Task<DelNetworkReply> DelNetwork(DelNetworkRequest request, ServerCallContext context)
            {
                DelTimeLeft = context.Deadline - DateTime.UtcNow;
                return Task.FromResult(new DelNetworkReply { Success = true });
            }
        }
    }
}
