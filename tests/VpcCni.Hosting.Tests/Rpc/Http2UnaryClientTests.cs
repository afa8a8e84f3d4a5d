using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>The byte-level client's outcomes that reach no server (calls to one: PluginGrpcClientTests, Http2UnaryCallInvokerTests).</summary>
public sealed class Http2UnaryClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Call_NothingListening_UnavailableResultNamingTheAddress()
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-h2client-").FullName;
        try
        {
            var socket = Path.Combine(directory, "none.sock");
            using var client = Http2UnaryClient.ForAddress(socket);

            var result = client.Call("/rpc.CNIBackend/AddNetwork", [], DateTimeOffset.UtcNow.AddSeconds(5), Ct);

            result.Status.Code.Should().Be(GrpcStatusCode.Unavailable);
            result.Status.Detail.Should().StartWith(socket);
            result.Message.Should().BeNull();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Call_DeadlineAlreadyPassed_DeadlineExceededWithoutConnecting()
    {
        using var client = Http2UnaryClient.ForAddress("/nonexistent/ipamd.sock");

        var result = client.Call("/rpc.CNIBackend/AddNetwork", [], DateTimeOffset.UtcNow.AddSeconds(-1), Ct);

        result.Status.Should().Be(new GrpcCallStatus(GrpcStatusCode.DeadlineExceeded, "the deadline passed before the call started"));
    }

    [Fact]
    public void Connect_NothingListening_GrpcCallExceptionUnavailable()
    {
        using var client = Http2UnaryClient.ForAddress("/nonexistent/ipamd.sock");

        var act = () => client.Connect(TimeSpan.FromSeconds(1));

        act.Should().Throw<GrpcCallException>().Which.StatusCode.Should().Be(GrpcStatusCode.Unavailable);
    }
}
