using System.Collections.Concurrent;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VpcCni.Cni;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Rpc;
using PluginWire = VpcCni.Hosting.Plugin.Wire;

namespace VpcCni.Hosting.Tests.Plugin;

/// <summary>
/// The plugin's calls to the network policy agent (reference §5.2 step 7, §5.3 step 6) through its real HTTP/2 client,
/// against a fake agent served by Kestrel's gRPC server on a Unix socket.
/// </summary>
public sealed class NetworkPolicyAgentTests : IAsyncLifetime
{
    private const string PodArgs = "IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=shop;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1";
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-npa-").FullName;
    private readonly VpcCniPluginTests.FakeIpamd _ipamd = new();
    private readonly VpcCniPluginTests.FakeWiring _wiring = new();
    private readonly FakeAgent _agent = new();
    private WebApplication? _server;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string AgentSocket => Path.Combine(_directory, "npa.sock");

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task StartAgentAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(AgentSocket, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_agent);
        _server = builder.Build();
        _server.MapGrpcService<FakeAgent>();
        await _server.StartAsync(Ct);
    }

    private VpcCniPlugin Plugin() => new(_ => _ipamd, _ => _wiring, _ => PluginLogger.None, "test");

    private CniRequest Request(string command, string extra = "") => new(
        CniEnvironment.Parse(new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/run/netns/p1", ["CNI_IFNAME"] = "eth0",
            ["CNI_ARGS"] = PodArgs, ["CNI_PATH"] = "/opt/cni/bin",
        }),
        NetworkConfig.Parse(Encoding.UTF8.GetBytes(
            $$"""{"cniVersion":"1.0.0","name":"aws-cni","type":"vpc-cni","mtu":"1500","networkPolicyAgentAddress":"{{AgentSocket}}"{{extra}}}""")));

    private void DaemonAnswers(string mode)
    {
        _ipamd.AddReply = new PluginWire.AddNetworkReply
        {
            Success = true,
            NetworkPolicyMode = mode,
            IPAllocationMetadata = [new PluginWire.IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 2, DeviceNumber = 1 }],
        };
        _ipamd.DelReply = new PluginWire.DelNetworkReply
        {
            Success = true,
            NetworkPolicyMode = mode,
            IPAllocationMetadata = [new PluginWire.IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 2, DeviceNumber = 1 }],
        };
    }

    [Theory]
    [InlineData("strict")]
    [InlineData("Standard")]
    [InlineData("none")]
    public async Task AddAsync_ModeInReply_EnforcesThePodsPolicyWithTheModeAsGiven(string mode)
    {
        await StartAgentAsync();
        DaemonAnswers(mode);

        var result = await Plugin().AddAsync(Request("ADD"), Ct);

        result.Ips.Should().ContainSingle();
        _agent.Enforced.Should().ContainSingle().Which.Should().Be(new EnforceNpRequest { K8SPODNAME = "web-0", K8SPODNAMESPACE = "shop", NETWORKPOLICYMODE = mode, InterfaceCount = 1 });
    }

    [Fact]
    public async Task AddAsync_NoModeInReply_NeverDialsTheAgent()
    {
        DaemonAnswers("");

        var result = await Plugin().AddAsync(Request("ADD"), Ct);

        result.Ips.Should().ContainSingle("nothing listens on the agent's socket, and an empty mode must not try it");
    }

    [Fact]
    public async Task AddAsync_AgentNotListening_FailsWithUpstreamsMessageAndKeepsTheAddress()
    {
        DaemonAnswers("strict");

        var act = async () => await Plugin().AddAsync(Request("ADD"), Ct);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Message.Should().Be("add cmd: failed to setup network policy");
        error.Details.Should().Contain("npa.sock").And.Contain("Unavailable");
        _wiring.Setups.Should().ContainSingle("the pod was wired before the agent was asked");
        _ipamd.Dels.Should().BeEmpty("as upstream, the address stays assigned; the runtime's DEL releases it");
    }

    [Fact]
    public async Task AddAsync_AgentRpcError_FailsWithUpstreamsMessage()
    {
        await StartAgentAsync();
        DaemonAnswers("strict");
        _agent.Failure = new RpcException(new Status(StatusCode.Internal, "ebpf probe attach failed"));

        var act = async () => await Plugin().AddAsync(Request("ADD"), Ct);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Message.Should().Be("add cmd: failed to setup network policy");
        error.Details.Should().Contain("ebpf probe attach failed");
        _ipamd.Dels.Should().BeEmpty();
    }

    [Fact]
    public async Task AddAsync_AgentAnswersNoSuccess_FailsWithUpstreamsMessage()
    {
        await StartAgentAsync();
        DaemonAnswers("standard");
        _agent.Success = false;

        var act = async () => await Plugin().AddAsync(Request("ADD"), Ct);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Message.Should().Be("add cmd: failed to setup network policy");
        error.Details.Should().Contain("Success=false");
        _agent.Enforced.Should().ContainSingle();
    }

    [Fact]
    public async Task DeleteAsync_ModeInReply_DeletesThePodsPolicyAfterTheTeardown()
    {
        await StartAgentAsync();
        DaemonAnswers("strict");

        await Plugin().DeleteAsync(Request("DEL"), Ct);

        _wiring.Teardowns.Should().ContainSingle();
        _agent.Deleted.Should().ContainSingle().Which.Should().Be(new DeleteNpRequest { K8SPODNAME = "web-0", K8SPODNAMESPACE = "shop" });
    }

    [Fact]
    public async Task DeleteAsync_NoModeInReply_NeverDialsTheAgent()
    {
        DaemonAnswers("");

        var act = async () => await Plugin().DeleteAsync(Request("DEL"), Ct);

        await act.Should().NotThrowAsync();
        _wiring.Teardowns.Should().ContainSingle();
    }

    [Fact]
    public async Task DeleteAsync_AgentNotListening_Fails()
    {
        DaemonAnswers("strict");

        var act = async () => await Plugin().DeleteAsync(Request("DEL"), Ct);

        var error = (await act.Should().ThrowAsync<CniException>()).Which;
        error.Message.Should().Contain("network policy agent");
        error.Details.Should().Contain("npa.sock");
        _wiring.Teardowns.Should().ContainSingle("the address was released and the pod torn down before the agent was dialled");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DeleteAsync_AgentFailsTheCall_StillSucceeds(bool rpcError)
    {
        await StartAgentAsync();
        DaemonAnswers("strict");
        if (rpcError)
        {
            _agent.Failure = new RpcException(new Status(StatusCode.Unknown, "map update failed"));
        }
        else
        {
            _agent.Success = false;
        }

        var act = async () => await Plugin().DeleteAsync(Request("DEL"), Ct);

        await act.Should().NotThrowAsync("upstream only logs a failed DeletePodNp");
        _agent.Deleted.Should().ContainSingle();
    }

    [Fact]
    public async Task DeleteAsync_UnknownToTheDaemon_DoesNotCallTheAgent()
    {
        await StartAgentAsync();
        DaemonAnswers("strict");
        _ipamd.DelReply = new PluginWire.DelNetworkReply { Success = true, NetworkPolicyMode = "strict" };

        await Plugin().DeleteAsync(Request("DEL"), Ct);

        _agent.Deleted.Should().BeEmpty("upstream returns at \"datastore: unknown pod\" before the agent step");
    }

    [Fact]
    public async Task AddAsync_DaemonWiresThePod_StillEnforcesWithTheModeOfItsReply()
    {
        await StartAgentAsync();
        DaemonAnswers("strict");
        _ipamd.AddPod = _ => new PluginWire.AddPodNetworkReply
        {
            Outcome = PluginWire.PodWiringOutcome.PodWiringDone,
            Reply = _ipamd.AddReply,
            HostVethName = "eni0123456789a",
            HostVethMac = new byte[] { 2, 0, 0, 0, 0, 0x11 },
        };

        await Plugin().AddAsync(Request("ADD", ""","daemonPodWiring":true"""), Ct);

        _ipamd.AddPods.Should().ContainSingle();
        _wiring.Setups.Should().BeEmpty("the daemon wired the pod");
        _agent.Enforced.Should().ContainSingle().Which.NETWORKPOLICYMODE.Should().Be("strict");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DeleteAsync_DaemonTearsDown_DeletesThePodsPolicyOnlyWhenItReleasedAnAddress(bool known)
    {
        await StartAgentAsync();
        DaemonAnswers("strict");
        var reply = known ? _ipamd.DelReply : new PluginWire.DelNetworkReply { Success = true, NetworkPolicyMode = "strict" };
        _ipamd.DelPod = _ => new PluginWire.DelPodNetworkReply { Outcome = PluginWire.PodWiringOutcome.PodWiringDone, Reply = reply };

        await Plugin().DeleteAsync(Request("DEL", ""","daemonPodWiring":true"""), Ct);

        _ipamd.DelPods.Should().ContainSingle();
        _agent.Deleted.Should().HaveCount(known ? 1 : 0);
    }

    [Fact]
    public void From_NetworkPolicyAgentAddress_DefaultsToUpstreamsSocketAndIsValidated()
    {
        var config = VpcCniPluginConfig.From(NetworkConfig.Parse("""{"cniVersion":"1.0.0","name":"aws-cni","type":"vpc-cni"}"""u8.ToArray()));
        var invalid = () => VpcCniPluginConfig.From(NetworkConfig.Parse("""{"cniVersion":"1.0.0","name":"aws-cni","type":"vpc-cni","networkPolicyAgentAddress":"npa.sock"}"""u8.ToArray()));

        config.NetworkPolicyAgentAddress.Should().Be("/var/run/aws-node/npa.sock");
        invalid.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
    }

    /// <summary>An NPBackend that records its calls and answers as told.</summary>
    internal sealed class FakeAgent : NPBackend.NPBackendBase
    {
        public ConcurrentQueue<EnforceNpRequest> Enforced { get; } = new();

        public ConcurrentQueue<DeleteNpRequest> Deleted { get; } = new();

        public bool Success { get; set; } = true;

        public RpcException? Failure { get; set; }

        public override Task<EnforceNpReply> EnforceNpToPod(EnforceNpRequest request, ServerCallContext context)
        {
            Enforced.Enqueue(request);
            return Failure is { } failure ? Task.FromException<EnforceNpReply>(failure) : Task.FromResult(new EnforceNpReply { Success = Success });
        }

        public override Task<DeleteNpReply> DeletePodNp(DeleteNpRequest request, ServerCallContext context)
        {
            Deleted.Enqueue(request);
            return Failure is { } failure ? Task.FromException<DeleteNpReply>(failure) : Task.FromResult(new DeleteNpReply { Success = Success });
        }
    }
}
