using System.Diagnostics;
using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>
/// The plugin's HTTP/2 client and Grpc.Net.Client against grpc-go (tools/grpc-interop, Debian's grpc-go 1.33): the same
/// calls must get the same replies and statuses from an HTTP/2 stack that is not Kestrel.
/// </summary>
public sealed class GrpcGoInteropTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Calls_BothClients_GetTheSameRepliesFromGrpcGo(string transport)
    {
        using var server = GrpcGoServer.Start(transport);
        using var http2 = Http2UnaryCallInvoker.ForAddress(server.Address);
        using var channel = IpamdChannel.Create(server.Address, TimeSpan.FromSeconds(5));
        var clients = new[] { new CNIBackend.CNIBackendClient(http2), new CNIBackend.CNIBackendClient(channel.CreateCallInvoker()) };
        var deadline = () => new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);

        // 60,000 octets: under IpamdChannel's 64 KiB send limit, a whole window's worth for the lean client.
        foreach (var containerId in new[] { "c1", new string('a', 60_000) })
        {
            var request = new AddNetworkRequest { ContainerID = containerId, IfName = "eth0", K8SPODNAME = "web-0" };
            var replies = clients.Select(c => c.AddNetwork(request, deadline())).ToList();

            replies[0].Should().Be(replies[1]);
            replies[0].Success.Should().BeTrue();
            replies[0].PodENIMAC.Should().Be(containerId, "grpc-go decoded the request");
            replies[0].NetworkPolicyMode.Should().Be($"request-bytes={request.CalculateSize()}");
            replies[0].IPAllocationMetadata.Should().ContainSingle().Which.Should().Be(new IPAllocationMetadata { IPv4Addr = "10.1.2.3", DeviceNumber = 1, RouteTableId = 2 });
            replies[0].VPCv4CIDRs.Should().Equal("10.1.0.0/16", "100.64.0.0/16");
        }

        // Only the lean client has no send limit: a body three windows long goes through grpc-go's flow control.
        clients[0].AddNetwork(new AddNetworkRequest { ContainerID = new string('b', 200_000) }, deadline()).PodENIMAC.Should().HaveLength(200_000);

        foreach (var reason in new[] { "", "big-reply" })
        {
            var replies = clients.Select(c => c.DelNetwork(new DelNetworkRequest { ContainerID = "c1", Reason = reason }, deadline())).ToList();

            replies[0].Should().Be(replies[1]);
            replies[0].NetworkPolicyMode.Should().HaveLength(reason == "" ? 4 : 200_000);
        }

        var errors = clients.Select(c => Catch(() => c.AddNetwork(new AddNetworkRequest { ContainerID = "missing" }, deadline()))).ToList();
        errors[0].StatusCode.Should().Be(StatusCode.NotFound);
        errors[0].Detail.Should().Be("no such container: \"missing\" — 100% gone");
        errors[1].Should().Be(errors[0]);

        var timeouts = clients.Select(c => Catch(() => c.AddNetwork(new AddNetworkRequest { ContainerID = "slow" }, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300), cancellationToken: Ct)))).ToList();
        timeouts.Should().OnlyContain(s => s.StatusCode == StatusCode.DeadlineExceeded);

        // The failures above did not cost the lean client its connection to a healthy server.
        clients[0].AddNetwork(new AddNetworkRequest { ContainerID = "after" }, deadline()).PodENIMAC.Should().Be("after");
        await Task.CompletedTask;
    }

    private static Status Catch(Action call)
    {
        try
        {
            call();
        }
        catch (RpcException ex)
        {
            return new Status(ex.StatusCode, ex.Status.Detail);
        }

        throw new InvalidOperationException("the call was expected to fail");
    }

    /// <summary>tools/grpc-interop's server as a child process; closing its stdin stops it.</summary>
    private sealed class GrpcGoServer : IDisposable
    {
        private readonly Process _process;
        private readonly string _directory;

        private GrpcGoServer(Process process, string directory, string address)
        {
            _process = process;
            _directory = directory;
            Address = address;
        }

        public string Address { get; }

        /// <summary>
        /// The binary tools/grpc-interop/build.sh builds into artifacts/tools/grpc-interop-server (scripts/test.sh builds
        /// it first); VPCCNI_GRPC_INTEROP_SERVER names another one. Missing is a failure, not a skip.
        /// </summary>
        public static string Binary
        {
            get
            {
                var overridden = Environment.GetEnvironmentVariable("VPCCNI_GRPC_INTEROP_SERVER");
                var path = string.IsNullOrEmpty(overridden) ? Path.Combine(RepoRoot(), "artifacts", "tools", "grpc-interop-server") : overridden;
                return File.Exists(path)
                    ? path
                    : throw new InvalidOperationException($"grpc-interop-server not found at {path}; build it with tools/grpc-interop/build.sh (scripts/test.sh does)");
            }
        }

        public static GrpcGoServer Start(string transport)
        {
            var directory = Directory.CreateTempSubdirectory("vpccni-grpcgo-").FullName;
            var listen = transport == "unix" ? "unix://" + Path.Combine(directory, "go.sock") : "127.0.0.1:0";
            var process = Process.Start(new ProcessStartInfo(Binary, ["-listen", listen])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            })!;
            var line = process.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(20)) || line.Result is not { } text || !text.StartsWith("listening ", StringComparison.Ordinal))
            {
                process.Kill();
                throw new InvalidOperationException($"grpc-interop-server did not start: {process.StandardError.ReadToEnd()}");
            }

            return new GrpcGoServer(process, directory, text["listening ".Length..]);
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill();
            }

            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }

        private static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("VpcCni.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
