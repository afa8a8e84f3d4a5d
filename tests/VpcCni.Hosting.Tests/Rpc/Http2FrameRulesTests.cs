using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Cni;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>RFC 9113 §6 frame-size and stream rules, with scripted server frames: a violation is a transport failure.</summary>
public sealed class Http2FrameRulesTests : IDisposable
{
    private readonly ScriptedHttp2Server _server = new();

    private static readonly AddNetworkReply Good = new() { Success = true, IPAllocationMetadata = { new IPAllocationMetadata { IPv4Addr = "10.0.0.7", RouteTableId = 2 } } };

    public void Dispose() => _server.Dispose();

    public static TheoryData<string, byte[]> BadFrames() => new()
    {
        { "RST_STREAM of 2 octets", ScriptedHttp2Server.Frame(0x3, 0, 1, [0, 8]) },
        { "RST_STREAM of 5 octets", ScriptedHttp2Server.Frame(0x3, 0, 1, [0, 0, 0, 8, 0]) },
        { "RST_STREAM of 0 octets on another stream", ScriptedHttp2Server.Frame(0x3, 0, 3, []) },
        { "RST_STREAM on stream 0", ScriptedHttp2Server.Frame(0x3, 0, 0, [0, 0, 0, 8]) },
        { "PRIORITY of 4 octets", ScriptedHttp2Server.Frame(0x2, 0, 1, [0, 0, 0, 0]) },
        { "PRIORITY on stream 0", ScriptedHttp2Server.Frame(0x2, 0, 0, [0, 0, 0, 0, 16]) },
        { "PING of 7 octets", ScriptedHttp2Server.Frame(0x6, 0, 0, new byte[7]) },
        { "PING on a stream", ScriptedHttp2Server.Frame(0x6, 0, 1, new byte[8]) },
        { "WINDOW_UPDATE of 3 octets", ScriptedHttp2Server.Frame(0x8, 0, 0, [0, 0, 1]) },
        { "WINDOW_UPDATE of 0", ScriptedHttp2Server.Frame(0x8, 0, 0, [0, 0, 0, 0]) },
        { "SETTINGS of 7 octets", ScriptedHttp2Server.Frame(0x4, 0, 0, new byte[7]) },
        { "SETTINGS ACK with a payload", ScriptedHttp2Server.Frame(0x4, 0x1, 0, new byte[6]) },
        { "SETTINGS on a stream", ScriptedHttp2Server.Frame(0x4, 0, 1, []) },
        { "GOAWAY of 7 octets", ScriptedHttp2Server.Frame(0x7, 0, 0, new byte[7]) },
        { "GOAWAY on a stream", ScriptedHttp2Server.Frame(0x7, 0, 1, new byte[8]) },
        { "DATA on stream 0", ScriptedHttp2Server.Frame(0x0, 0, 0, new byte[3]) },
        { "HEADERS on stream 0", ScriptedHttp2Server.Headers(0, true, (":status", "200")) },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void BlockingUnaryCall_FrameBreakingRfc9113_IsATransportFailureNamingTheRule(string rule, byte[] frame)
    {
        _server.Script = [.. ScriptedHttp2Server.Settings(), .. frame, .. ScriptedHttp2Server.Reply(Good)];
        using var invoker = Http2UnaryCallInvoker.ForAddress(_server.SocketPath);
        var client = new CNIBackend.CNIBackendClient(invoker);

        var act = () => client.AddNetwork(new AddNetworkRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(5)));

        act.Should().Throw<RpcException>(rule).Which.Status.Should().Match<Status>(s => s.StatusCode == StatusCode.Internal && s.Detail.Contains("ERROR)"));
    }

    [Fact]
    public void BlockingUnaryCall_ValidFramesAroundTheReply_Succeeds()
    {
        _server.Script =
        [
            .. ScriptedHttp2Server.Settings(),
            .. ScriptedHttp2Server.Frame(0x2, 0, 1, [0, 0, 0, 0, 16]),
            .. ScriptedHttp2Server.Frame(0x6, 0, 0, new byte[8]),
            .. ScriptedHttp2Server.Frame(0x8, 0, 0, [0, 0, 1, 0]),
            .. ScriptedHttp2Server.Frame(0x3, 0, 3, [0, 0, 0, 8]),
            .. ScriptedHttp2Server.Reply(Good),
        ];
        using var invoker = Http2UnaryCallInvoker.ForAddress(_server.SocketPath);
        var client = new CNIBackend.CNIBackendClient(invoker);

        client.AddNetwork(new AddNetworkRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(5))).IPAllocationMetadata[0].IPv4Addr.Should().Be("10.0.0.7");
    }

    [Fact]
    public async Task PluginAdd_ShortRstStream_IsCniTryAgainLater()
    {
        _server.Script = [.. ScriptedHttp2Server.Settings(), .. ScriptedHttp2Server.Frame(0x3, 0, 1, [0, 8])];
        using var plugin = PluginFuzz.Plugin();

        var act = async () => await plugin.AddAsync(PluginFuzz.AddRequest(_server.SocketPath), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.TryAgainLater);
    }

    // Found by Http2ClientFuzzTests: an empty HEADERS fragment awaiting CONTINUATION, then the server closes.
    [Fact]
    public async Task PluginAdd_EmptyHeadersFragmentThenClose_IsCniTryAgainLater()
    {
        _server.Script = [.. ScriptedHttp2Server.Settings(), .. ScriptedHttp2Server.Frame(0x1, 0, 1, [])];
        using var plugin = PluginFuzz.Plugin();

        var act = async () => await plugin.AddAsync(PluginFuzz.AddRequest(_server.SocketPath), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.TryAgainLater);
    }
}

/// <summary>The real plugin with the real gRPC client and no datapath, for scripted and fuzzed servers.</summary>
internal static class PluginFuzz
{
    public static VpcCniPlugin Plugin() => new(
        address => new GrpcIpamdClient(address, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)),
        _ => new NoWiring(),
        _ => PluginLogger.None,
        "fuzz");

    public static CniRequest AddRequest(string socketPath, string command = "ADD") => new(
        CniEnvironment.Parse(new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/run/netns/p1", ["CNI_IFNAME"] = "eth0",
            ["CNI_ARGS"] = "K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default", ["CNI_PATH"] = "/opt/cni/bin",
        }),
        NetworkConfig.Parse(Encoding.UTF8.GetBytes($$"""{"cniVersion":"1.0.0","name":"aws-cni","type":"vpc-cni","ipamdAddress":"{{socketPath}}"}""")));

    private sealed class NoWiring : IPodWiring
    {
        public VpcCni.Linux.Pods.PodNetworkSetupResult Setup(VpcCni.Linux.Pods.PodNetworkRequest request) =>
            new("enitest", System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-00-01"), 7, System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-00-02"), 2);

        public void Teardown(VpcCni.Linux.Pods.PodNetworkRequest request, VpcCni.Linux.Pods.IHostVethRemover? remover = null)
        {
        }

        public IReadOnlyList<string> Check(VpcCni.Linux.Pods.PodNetworkRequest request) => [];

        public bool InterfaceExists(string namespacePath, string interfaceName) => false;

        public VpcCni.Linux.Namespaces.NetworkNamespaceIdentity? IdentityOf(string namespacePath) => null;

        public void Dispose()
        {
        }
    }
}
