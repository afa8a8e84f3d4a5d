using VpcCni.Cni;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Plugin.Wire;
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
    public async Task GrpcIpamdClient_EitherClient_IPv6ClusterGetsIPv6AddrAndVpcV6Cidrs(string kind)
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o =>
        {
            o.EnableIPv6 = true;
            o.EnablePrefixDelegation = true;
            o.WarmPrefixTarget = 1;
        }, Ct);
        using var client = GrpcIpamdClient.Create(daemon.SocketPath, Enum.Parse<PluginGrpcClient>(kind));

        var added = await client.AddNetworkAsync(Add("c1"), Ct);
        var deleted = await client.DelNetworkAsync(new DelNetworkRequest { ContainerID = "c1", IfName = "eth0", NetworkName = "aws-cni", K8SPODNAME = "c1", K8SPODNAMESPACE = "default" }, Ct);

        added.Success.Should().BeTrue(added.FailureReason);
        var allocation = added.IPAllocationMetadata.Should().ContainSingle().Subject;
        allocation.IPv4Addr.Should().BeEmpty();
        System.Net.IPAddress.Parse(allocation.IPv6Addr).AddressFamily.Should().Be(System.Net.Sockets.AddressFamily.InterNetworkV6);
        added.VPCv6CIDRs.Should().ContainSingle().Which.Should().EndWith("/56");
        added.VPCv4CIDRs.Should().BeEmpty();
        added.UseExternalSNAT.Should().BeFalse();
        deleted.IPAllocationMetadata.Should().ContainSingle().Which.IPv6Addr.Should().Be(allocation.IPv6Addr);
    }

    [Theory]
    [InlineData("Http2")]
    [InlineData("GrpcNet")]
    public async Task GrpcIpamdClient_EitherClient_AddsAndDeletesThroughTheDaemonsGrpcServer(string kind)
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.FromSeconds(5), Ct);
        using var client = GrpcIpamdClient.Create(daemon.SocketPath, Enum.Parse<PluginGrpcClient>(kind));

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

    [Fact]
    public async Task GrpcIpamdClient_EveryCall_SameRepliesOnTheWireCodecAsOnTheGeneratedClient()
    {
        // One daemon per client, same calls: the hand-written codec must read what the daemon's generated code wrote,
        // and the daemon must understand what the codec wrote, for every call the plugin makes.
        var http2 = await EveryCallAsync(PluginGrpcClient.Http2);
        var generated = await EveryCallAsync(PluginGrpcClient.GrpcNet);

        http2.Should().BeEquivalentTo(generated, o => o.ComparingRecordsByMembers()
            .Using<ReadOnlyMemory<byte>>(c => c.Subject.ToArray().Should().Equal(c.Expectation.ToArray())).WhenTypeIs<ReadOnlyMemory<byte>>()
            .Excluding(m => m.Path.EndsWith("IPv4Addr", StringComparison.Ordinal)));
        http2.Attached.Found.Should().BeTrue();
        http2.Attached.IPv4Addr.Should().Be(http2.Added.IPAllocationMetadata[0].IPv4Addr);
        http2.Collected.Released.Should().ContainSingle().Which.ContainerID.Should().Be("stale", "c1 is in the valid list, stale is not");
        (http2.AddedPod.Outcome, http2.DeletedPod.Outcome).Should().Be((PodWiringOutcome.PodWiringNotAttempted, PodWiringOutcome.PodWiringNotAttempted),
            "this daemon does not wire pods");
        http2.Deleted.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be(http2.Added.IPAllocationMetadata[0].IPv4Addr);
    }

    private sealed record EveryCall(AddNetworkReply Added, GetAttachmentReply Attached, GetStatusReply Status, GarbageCollectReply Collected,
        AddPodNetworkReply AddedPod, DelPodNetworkReply DeletedPod, RemoveHostVethReply Removed, DelNetworkReply Deleted);

    private static async Task<EveryCall> EveryCallAsync(PluginGrpcClient kind)
    {
        await using var daemon = await DaemonGrpcServer.StartAsync(o => o.AssignWaitTimeout = TimeSpan.FromSeconds(5), Ct);
        using var client = GrpcIpamdClient.Create(daemon.SocketPath, kind);
        var added = await client.AddNetworkAsync(Add("c1"), Ct);
        await client.AddNetworkAsync(Add("stale"), Ct);
        var attached = await client.GetAttachmentAsync(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }, Ct);
        var status = await client.GetStatusAsync(Ct);
        var collected = await client.GarbageCollectAsync(new GarbageCollectRequest
        {
            NetworkName = "aws-cni",
            ValidAttachments = [new Attachment { ContainerID = "c1", IfName = "eth0" }],
        }, Ct);
        var addedPod = await client.AddPodNetworkAsync(new AddPodNetworkRequest { Add = Add("c2"), VethPrefix = "eni", Mtu = 9001, NetnsDevice = 3, NetnsInode = 4026532000 }, Ct);
        var deletedPod = await client.DelPodNetworkAsync(new DelPodNetworkRequest
        {
            Del = new DelNetworkRequest { ContainerID = "c2", IfName = "eth0", NetworkName = "aws-cni" },
            VethPrefix = "eni",
            Mtu = 9001,
            Netns = "/run/netns/c2",
        }, Ct);
        var removed = await client.RemoveHostVethAsync(new RemoveHostVethRequest { IfIndex = int.MaxValue, Name = "eninotthere00", NamespaceDevice = 1, NamespaceInode = 2 }, Ct);
        var deleted = await client.DelNetworkAsync(new DelNetworkRequest { ContainerID = "c1", IfName = "eth0", NetworkName = "aws-cni", K8SPODNAME = "c1", K8SPODNAMESPACE = "default" }, Ct);
        return new EveryCall(added, attached, status, collected, addedPod, deletedPod, removed, deleted);
    }

    [Theory]
    [InlineData("Http2")]
    [InlineData("GrpcNet")]
    public async Task GrpcIpamdClient_EitherClientNothingListening_IsUnreachable(string kind)
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-nodaemon-").FullName;
        try
        {
            using var client = GrpcIpamdClient.Create(Path.Combine(directory, "ipamd.sock"), Enum.Parse<PluginGrpcClient>(kind));

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
