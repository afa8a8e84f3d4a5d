using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>The plugin's HTTP/2 gRPC client against a real Kestrel gRPC server on a Unix socket.</summary>
public sealed class Http2UnaryCallInvokerTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-h2-").FullName;
    private readonly EchoBackend _backend = new();
    private WebApplication? _server;

    private string SocketPath => Path.Combine(_directory, "ipamd.sock");

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(SocketPath, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 1024 * 1024);
        builder.Services.AddSingleton(_backend);
        _server = builder.Build();
        _server.MapGrpcService<EchoBackend>();
        await _server.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private CNIBackend.CNIBackendClient Client(out Http2UnaryCallInvoker invoker)
    {
        invoker = Http2UnaryCallInvoker.ForAddress(SocketPath);
        return new CNIBackend.CNIBackendClient(invoker);
    }

    private static CallOptions Deadline(double seconds = 10) => new(deadline: DateTime.UtcNow.AddSeconds(seconds));

    [Fact]
    public void BlockingUnaryCall_AddNetwork_ReturnsTheServersReply()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            var reply = client.AddNetwork(new AddNetworkRequest { ContainerID = "c1", IfName = "eth0", K8SPODNAME = "web-0" }, Deadline());

            reply.Success.Should().BeTrue();
            reply.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be("10.0.0.7");
            _backend.Requests.Should().ContainSingle().Which.ContainerID.Should().Be("c1");
        }
    }

    [Fact]
    public void BlockingUnaryCall_SeveralCalls_ShareOneConnection()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            for (var i = 0; i < 5; i++)
            {
                client.DelNetwork(new DelNetworkRequest { ContainerID = $"c{i}" }, Deadline()).Success.Should().BeTrue();
            }

            _backend.Connections.Distinct().Should().ContainSingle();
        }
    }

    [Fact]
    public void BlockingUnaryCall_ServerThrowsRpcException_SurfacesCodeAndUnicodeDetail()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            var act = () => client.AddNetwork(new AddNetworkRequest { K8SPODNAME = "exhausted" }, Deadline());

            act.Should().Throw<RpcException>().Which.Status.Should().Be(new Status(StatusCode.ResourceExhausted, "no free address — pool at 100%"));
            client.AddNetwork(new AddNetworkRequest { ContainerID = "after" }, Deadline()).Success.Should().BeTrue("a gRPC error leaves the connection usable");
        }
    }

    [Fact]
    public void BlockingUnaryCall_UnknownService_IsUnimplemented()
    {
        using var invoker = Http2UnaryCallInvoker.ForAddress(SocketPath);
        var client = new PluginBackend.PluginBackendClient(invoker);

        var act = () => client.GetStatus(new GetStatusRequest(), Deadline());

        act.Should().Throw<RpcException>().Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public void BlockingUnaryCall_RequestAndReplyLargerThanFlowControlWindows_AreCarriedWhole()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            var big = new string('n', 300_000);

            var reply = client.AddNetwork(new AddNetworkRequest { K8SPODNAME = "echo-large", Netns = big }, Deadline());

            reply.FailureReason.Should().Be(big);
            _backend.Requests.Should().ContainSingle().Which.Netns.Length.Should().Be(300_000);
        }
    }

    [Fact]
    public void BlockingUnaryCall_HandlerSlowerThanDeadline_IsDeadlineExceeded()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            var act = () => client.AddNetwork(new AddNetworkRequest { K8SPODNAME = "slow" }, Deadline(0.3));

            act.Should().Throw<RpcException>().Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        }
    }

    [Fact]
    public void BlockingUnaryCall_Cancelled_IsCancelled()
    {
        var client = Client(out var invoker);
        using (invoker)
        using (var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var act = () => client.AddNetwork(new AddNetworkRequest { K8SPODNAME = "slow" }, new CallOptions(cancellationToken: cancellation.Token));

            act.Should().Throw<RpcException>().Which.StatusCode.Should().Be(StatusCode.Cancelled);
        }
    }

    [Fact]
    public void BlockingUnaryCall_NothingListening_IsUnavailableNamingTheAddress()
    {
        var missing = Path.Combine(_directory, "missing.sock");
        using var invoker = Http2UnaryCallInvoker.ForAddress(missing);
        var client = new CNIBackend.CNIBackendClient(invoker);

        var act = () => client.AddNetwork(new AddNetworkRequest(), Deadline());

        act.Should().Throw<RpcException>().Which.Status.Should().Match<Status>(s => s.StatusCode == StatusCode.Unavailable && s.Detail.Contains(missing));
    }

    [Fact]
    public async Task AsyncUnaryCall_AddNetwork_ReturnsReplyAndHeaders()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            using var call = client.AddNetworkAsync(new AddNetworkRequest { ContainerID = "async" }, Deadline());

            (await call.ResponseAsync).Success.Should().BeTrue();
            (await call.ResponseHeadersAsync).GetValue("x-backend").Should().Be("echo");
        }
    }

    [Fact]
    public async Task AsyncUnaryCall_ServerError_StatusAndExceptionCarryIt()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            using var call = client.AddNetworkAsync(new AddNetworkRequest { K8SPODNAME = "exhausted" }, Deadline());

            var thrown = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
            thrown.StatusCode.Should().Be(StatusCode.ResourceExhausted);
            call.GetStatus().StatusCode.Should().Be(StatusCode.ResourceExhausted);
        }
    }

    [Fact]
    public void BlockingUnaryCall_WithoutDeadlineAfterOneWithDeadline_DoesNotTimeOut()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            // The connection is made first, so the short deadline only covers a call on a warm connection (a loaded CI
            // machine once took more than 0.5 s for the first call); the next call outlasts that deadline.
            client.DelNetwork(new DelNetworkRequest { ContainerID = "warm" }, new CallOptions()).Success.Should().BeTrue();
            client.DelNetwork(new DelNetworkRequest { ContainerID = "short" }, Deadline(2)).Success.Should().BeTrue();

            client.AddNetwork(new AddNetworkRequest { K8SPODNAME = "three-seconds" }, new CallOptions()).Success.Should().BeTrue();
        }
    }

    [Fact]
    public async Task BlockingUnaryCall_ServerStopsBetweenCalls_IsUnavailable()
    {
        var client = Client(out var invoker);
        using (invoker)
        {
            client.DelNetwork(new DelNetworkRequest { ContainerID = "first" }, Deadline()).Success.Should().BeTrue();
            await _server!.StopAsync(TestContext.Current.CancellationToken);

            var act = () => client.DelNetwork(new DelNetworkRequest { ContainerID = "second" }, Deadline());

            act.Should().Throw<RpcException>().Which.StatusCode.Should().Be(StatusCode.Unavailable);
        }
    }

    [Theory]
    [InlineData("unix:///run/x.sock")]
    [InlineData("/run/x.sock")]
    [InlineData("127.0.0.1:50051")]
    [InlineData("localhost:50051")]
    public void ForAddress_SupportedForms_AreAccepted(string address)
    {
        using var invoker = Http2UnaryCallInvoker.ForAddress(address);

        invoker.Should().NotBeNull();
    }

    [Theory]
    [InlineData("ipamd.sock")]
    [InlineData("host:notaport")]
    [InlineData("host:70000")]
    public void ForAddress_Malformed_ThrowsNamingTheAddress(string address)
    {
        var act = () => Http2UnaryCallInvoker.ForAddress(address);

        act.Should().Throw<ArgumentException>().WithMessage($"*{address}*");
    }

    [Fact]
    public void FormatTimeout_LargeAndSmallValues_FitEightDigits()
    {
        Http2GrpcConnection.FormatTimeout(TimeSpan.FromMilliseconds(0.2)).Should().Be("1m");
        Http2GrpcConnection.FormatTimeout(TimeSpan.FromSeconds(10)).Should().Be("10000m");
        Http2GrpcConnection.FormatTimeout(TimeSpan.FromDays(3)).Should().Be("259200S");
    }

    /// <summary>A CNIBackend whose behaviour is chosen by the pod name.</summary>
    internal sealed class EchoBackend : CNIBackend.CNIBackendBase
    {
        public ConcurrentQueue<AddNetworkRequest> Requests { get; } = new();

        public ConcurrentQueue<string> Connections { get; } = new();

        public override async Task<AddNetworkReply> AddNetwork(AddNetworkRequest request, ServerCallContext context)
        {
            Requests.Enqueue(request);
            await context.WriteResponseHeadersAsync(new Metadata { { "x-backend", "echo" } });
            switch (request.K8SPODNAME)
            {
                case "exhausted":
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, "no free address — pool at 100%"));
                case "slow":
                    await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken);
                    break;
                case "three-seconds":
                    await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
                    break;
                case "echo-large":
                    return new AddNetworkReply { Success = true, FailureReason = request.Netns };
            }

            return new AddNetworkReply { Success = true, IPAllocationMetadata = { new IPAllocationMetadata { IPv4Addr = "10.0.0.7", RouteTableId = 254 } } };
        }

        public override Task<DelNetworkReply> DelNetwork(DelNetworkRequest request, ServerCallContext context)
        {
            Connections.Enqueue(context.GetHttpContext().Connection.Id);
            return Task.FromResult(new DelNetworkReply { Success = true });
        }
    }
}
