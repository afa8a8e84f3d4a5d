using VpcCni.Cni;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Tests.Daemon;

namespace VpcCni.Hosting.Tests.Plugin;

/// <summary>Both gRPC clients the plugin can use (VPC_CNI_PLUGIN_GRPC_CLIENT) against the daemon's real gRPC server.</summary>
public sealed class PluginGrpcClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AddNetworkRequest Add(string containerId) => new()
    {
        ClientVersion = "test", NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = containerId,
        Netns = "/run/netns/" + containerId,
    };

    [Theory]
    [InlineData("Http2")]
    [InlineData("GrpcNet")]
    public async Task GrpcIpamdClient_EitherClient_AddsAndDeletesThroughTheDaemonsGrpcServer(string kind)
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.FromSeconds(5), Ct);
        using var client = new GrpcIpamdClient(daemon.SocketPath, client: Enum.Parse<PluginGrpcClient>(kind));

        var added = await client.AddNetworkAsync(Add("c1"), Ct);
        var again = await client.AddNetworkAsync(Add("c1"), Ct);
        var status = await client.GetStatusAsync(Ct);
        var deleted = await client.DelNetworkAsync(new DelNetworkRequest { ContainerID = "c1", IfName = "eth0", NetworkName = "aws-cni", K8SPODNAME = "c1", K8SPODNAMESPACE = "default" }, Ct);

        added.Success.Should().BeTrue(added.FailureReason);
        added.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().NotBeEmpty();
        again.IPAllocationMetadata.Should().Equal(added.IPAllocationMetadata, "a repeated ADD returns the same address");
        status.Should().NotBeNull();
        deleted.Success.Should().BeTrue();
        deleted.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be(added.IPAllocationMetadata[0].IPv4Addr);
    }

    [Theory]
    [InlineData("Http2")]
    [InlineData("GrpcNet")]
    public async Task GrpcIpamdClient_EitherClientNothingListening_IsUnreachable(string kind)
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-nodaemon-").FullName;
        try
        {
            using var client = new GrpcIpamdClient(Path.Combine(directory, "ipamd.sock"), client: Enum.Parse<PluginGrpcClient>(kind));

            var act = async () => await client.AddNetworkAsync(Add("c1"), Ct);

            (await act.Should().ThrowAsync<IpamdUnreachableException>()).Which.Address.Should().EndWith("ipamd.sock");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, "Http2")]
    [InlineData("", "Http2")]
    [InlineData("http2", "Http2")]
    [InlineData("grpcnet", "GrpcNet")]
    [InlineData(" GrpcNet ", "GrpcNet")]
    public void Read_KnownValues_SelectTheClient(string? value, string expected) =>
        PluginGrpcClientSetting.Read(name => name == "VPC_CNI_PLUGIN_GRPC_CLIENT" ? value : null).Should().Be(Enum.Parse<PluginGrpcClient>(expected));

    [Fact]
    public void Read_UnknownValue_IsAnInvalidEnvironmentVariablesErrorNamingIt()
    {
        var act = () => PluginGrpcClientSetting.Read(_ => "grpc-go");

        act.Should().Throw<CniException>().Where(e => e.Code == CniErrorCode.InvalidEnvironmentVariables && e.Message.Contains("VPC_CNI_PLUGIN_GRPC_CLIENT"));
    }
}
