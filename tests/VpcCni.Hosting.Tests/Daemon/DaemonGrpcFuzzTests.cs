using System.Net.Sockets;
using CsCheck;
using Google.Protobuf;
using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;
using VpcCni.Hosting.Tests.Rpc;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// Seeded, bounded fuzzing of a real in-process daemon's gRPC input: raw HTTP/2 frames and protobuf bytes never crash
/// it; every request is answered with a gRPC status or the connection is closed cleanly, and the daemon serves on.
/// </summary>
public sealed class DaemonGrpcFuzzTests
{
    private static readonly string Seed = new PCG(7, 20261102).ToString();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Methods =
    [
        "rpc.CNIBackend/AddNetwork", "rpc.CNIBackend/DelNetwork", "vpccni.v1.PluginBackend/GetAttachment", "vpccni.v1.PluginBackend/GetStatus",
        "vpccni.v1.PluginBackend/GarbageCollect", "vpccni.v1.PluginBackend/RemoveHostVeth", "grpc.health.v1.Health/Check",
    ];

    private static readonly byte[][] ValidRequests =
    [
        new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0", K8SPODNAME = "web", K8SPODNAMESPACE = "default", ClientVersion = "v1" }.ToByteArray(),
        new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0", Reason = "PodDeleted", K8SPODUID = "u" }.ToByteArray(),
        new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }.ToByteArray(),
        new GarbageCollectRequest { NetworkName = "aws-cni" }.ToByteArray(),
        new RemoveHostVethRequest { IfIndex = 5, Name = "eni0123456789a" }.ToByteArray(),
    ];

    private static readonly Gen<byte[]> Protobuf = Gen.OneOf(
        Gen.Byte.Array[0, 64],
        Gen.Select(Gen.OneOf(ValidRequests), Gen.Int.Array[3], Gen.Byte.Array[3], Gen.Int[0, 3], (valid, positions, values, count) =>
        {
            var bytes = (byte[])valid.Clone();
            for (var i = 0; i < count && bytes.Length > 0; i++)
            {
                bytes[(int)((uint)positions[i] % bytes.Length)] = values[i];
            }

            return bytes;
        }));

    [Fact]
    public async Task Daemon_RandomAndMutatedProtobufMessages_AnswersEveryCallWithAStatus()
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.Zero, Ct);
        using var invoker = Http2UnaryCallInvoker.ForAddress(daemon.SocketPath);
        var raw = Marshallers.Create(static (byte[] b) => b, static b => b);
        var statuses = new Dictionary<StatusCode, int>();

        Gen.Select(Gen.OneOf(Methods), Protobuf).Sample((method, message) =>
        {
            var slash = method.IndexOf('/', StringComparison.Ordinal);
            var call = new Method<byte[], byte[]>(MethodType.Unary, method[..slash], method[(slash + 1)..], raw, raw);
            StatusCode code;
            try
            {
                invoker.BlockingUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), message);
                code = StatusCode.OK;
            }
            catch (RpcException ex)
            {
                code = ex.StatusCode;
            }

            if (code == StatusCode.Unknown)
            {
                // Grpc.AspNetCore answers a request it cannot deserialize with Unknown before any handler runs; Unknown
                // for a message that parses would be an exception escaping a daemon handler.
                Parses(method, message).Should().BeFalse($"{method}: a handler exception is a daemon bug");
            }

            code.Should().NotBe(StatusCode.Unavailable, $"{method}: the daemon must answer");
            code.Should().NotBe(StatusCode.DeadlineExceeded, $"{method}: the daemon must answer");
            statuses[code] = statuses.GetValueOrDefault(code) + 1;
        }, seed: Check.Seed ?? Seed, iter: 400, threads: 1, print: t => $"{t.Item1} {Convert.ToHexString(t.Item2)}");

        statuses.Keys.Should().Contain(StatusCode.OK);
        await AssertStillServingAsync(daemon);
    }

    [Fact]
    public async Task Daemon_RandomAndMutatedHttp2Frames_AnswersOrClosesCleanlyAndServesOn()
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.Zero, Ct);
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        var validRequest = ValidHttp2Request();
        var frames = Gen.OneOf(
            Gen.OneOf(validRequest, ScriptedHttp2Server.Settings(), ScriptedHttp2Server.Frame(0x6, 0, 0, new byte[8])),
            Gen.Select(Gen.Byte[0, 10], Gen.Byte, Gen.OneOf(0, 1, 3, 0x7FFFFFFF), Gen.Byte.Array[0, 48], (type, flags, stream, payload) => ScriptedHttp2Server.Frame(type, flags, stream, payload)),
            Gen.Byte.Array[1, 32]);
        var script = Gen.Select(frames.Array[1, 6], Gen.Int[0, 3], Gen.Int.Array[3], Gen.Byte.Array[3], Gen.Bool, (parts, count, positions, values, withPreface) =>
        {
            var bytes = parts.SelectMany(p => p).ToArray();
            for (var i = 0; i < count && bytes.Length > 0; i++)
            {
                bytes[(int)((uint)positions[i] % bytes.Length)] = values[i];
            }

            return withPreface ? [.. preface, .. bytes] : bytes;
        });

        script.Sample(bytes =>
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 5000 };
            socket.Connect(new UnixDomainSocketEndPoint(daemon.SocketPath));
            try
            {
                socket.Send(bytes);
                // End of our input: the server must finish with what it got and close, not wait for ever.
                socket.Shutdown(SocketShutdown.Send);
                var buffer = new byte[16 * 1024];
                while (socket.Receive(buffer) > 0)
                {
                }
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
            {
                // The server closed while we were still sending: a clean close for this purpose.
            }
        }, seed: Check.Seed ?? Seed, iter: 300, threads: 1, print: Convert.ToHexString);

        await AssertStillServingAsync(daemon);
    }

    private static bool Parses(string method, byte[] message)
    {
        MessageParser parser = method switch
        {
            "rpc.CNIBackend/AddNetwork" => AddNetworkRequest.Parser,
            "rpc.CNIBackend/DelNetwork" => DelNetworkRequest.Parser,
            "vpccni.v1.PluginBackend/GetAttachment" => GetAttachmentRequest.Parser,
            "vpccni.v1.PluginBackend/GetStatus" => GetStatusRequest.Parser,
            "vpccni.v1.PluginBackend/GarbageCollect" => GarbageCollectRequest.Parser,
            "vpccni.v1.PluginBackend/RemoveHostVeth" => RemoveHostVethRequest.Parser,
            _ => Grpc.Health.V1.HealthCheckRequest.Parser,
        };
        try
        {
            parser.ParseFrom(message);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static async Task AssertStillServingAsync(DaemonGrpcServer daemon)
    {
        using var client = new VpcCni.Hosting.Plugin.GrpcIpamdClient(daemon.SocketPath);
        var reply = await client.AddNetworkAsync(new VpcCni.Hosting.Plugin.Wire.AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "after-fuzz", IfName = "eth0", K8SPODNAME = "after", K8SPODNAMESPACE = "default" }, Ct);
        (reply.Success || reply.FailureReason.Contains("no free address", StringComparison.Ordinal)).Should().BeTrue(reply.FailureReason);
        daemon.Node.IsReady.Should().BeTrue();
    }

    /// <summary>HEADERS (literal fields) and DATA of one AddNetwork call on stream 1.</summary>
    private static byte[] ValidHttp2Request() =>
    [
        .. ScriptedHttp2Server.Settings(),
        .. ScriptedHttp2Server.Headers(1, false, (":method", "POST"), (":scheme", "http"), (":path", "/rpc.CNIBackend/AddNetwork"),
            (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")),
        .. ScriptedHttp2Server.GrpcData(1, new AddNetworkRequest { NetworkName = "aws-cni", ContainerID = "raw", IfName = "eth0" }, endStream: true),
    ];
}
