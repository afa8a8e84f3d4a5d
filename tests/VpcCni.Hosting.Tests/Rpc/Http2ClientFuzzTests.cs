using CsCheck;
using VpcCni.Cni;
using VpcCni.Hosting.Rpc;
using Xunit.Sdk;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>
/// Seeded, bounded fuzzing of the plugin's HTTP/2 client: whatever frames a server sends, the plugin's ADD ends in a
/// result or a CNI error with a well-known code, never another exception. CsCheck prints the failing input and its seed;
/// the message names the exception that escaped.
/// </summary>
public sealed class Http2ClientFuzzTests : IDisposable
{
    private const int Iterations = 400;

    // Only the first iteration uses the seed: CsCheck draws the others afresh on every run, so each run fuzzes new inputs.
    // A failure prints its seed; CsCheck_Seed=<seed> in the environment makes that case the first iteration.
    private static readonly string Seed = new PCG(11, 20261101).ToString();

    private readonly ScriptedHttp2Server _server = new();

    private static readonly AddNetworkReply Good = new() { Success = true, IPAllocationMetadata = { new IPAllocationMetadata { IPv4Addr = "10.0.0.7", RouteTableId = 2 } } };

    public void Dispose() => _server.Dispose();

    private static readonly byte[][] ValidParts =
    [
        ScriptedHttp2Server.Settings(),
        ScriptedHttp2Server.Headers(1, false, (":status", "200"), ("content-type", "application/grpc")),
        ScriptedHttp2Server.GrpcData(1, Good),
        ScriptedHttp2Server.Headers(1, true, ("grpc-status", "0")),
        ScriptedHttp2Server.Headers(1, true, (":status", "200"), ("grpc-status", "14"), ("grpc-message", "%E2%80%94 down")),
        ScriptedHttp2Server.Frame(0x8, 0, 0, [0, 0, 1, 0]),
        ScriptedHttp2Server.Frame(0x6, 0, 0, new byte[8]),
        ScriptedHttp2Server.Frame(0x7, 0, 0, [0, 0, 0, 1, 0, 0, 0, 0]),
        ScriptedHttp2Server.Frame(0x3, 0, 1, [0, 0, 0, 7]),
        ScriptedHttp2Server.Frame(0x4, 0, 0, [0, 4, 0, 0, 0, 0]),
    ];

    private static readonly Gen<byte[]> RandomFrame = Gen.Select(Gen.Byte[0, 10], Gen.Byte, Gen.OneOf(0, 1, 3), Gen.Byte.Array[0, 40],
        (type, flags, stream, payload) => ScriptedHttp2Server.Frame(type, flags, stream, payload));

    private static readonly Gen<byte[]> Script = MutatedBytes.Of(Gen.OneOf(Gen.OneOf(ValidParts), RandomFrame, Gen.Byte.Array[1, 24]), maxParts: 8);

    [Fact]
    public void PluginAdd_RandomAndMutatedServerFrames_EndInAResultOrAWellKnownCniError()
    {
        using var plugin = PluginFuzz.Plugin();
        var request = PluginFuzz.AddRequest(_server.SocketPath);
        var outcomes = new Dictionary<string, int>();

        Script.Sample(script =>
        {
            _server.Script = script;
            string outcome;
            try
            {
                plugin.AddAsync(request, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                outcome = "result";
            }
            catch (CniException ex)
            {
                Enum.IsDefined(ex.Code).Should().BeTrue($"code {(int)ex.Code} must be a well-known CNI code");
                outcome = ex.Code.ToString();
            }
            catch (Exception ex)
            {
                throw new XunitException($"ADD must end in a result or a CniException, but threw {ex.GetType().FullName}: {ex.Message}", ex);
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }, seed: Check.Seed ?? Seed, iter: Iterations, threads: 1, print: s => Convert.ToHexString(s));

        outcomes.Keys.Should().Contain(nameof(CniErrorCode.TryAgainLater));
    }
}
