using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using VpcCni.Cni;
using VpcCni.Hosting.Plugin;
using VpcCni.Hosting.Plugin.Wire;
using VpcCni.Hosting.Rpc.Http2;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Tests.Plugin;

public sealed class VpcCniPluginTests
{
    private const string PodArgs = "IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1";
    private readonly FakeIpamd _ipamd = new();
    private readonly FakeWiring _wiring = new();

    private VpcCniPlugin Plugin() => new(_ => _ipamd, _ => _wiring, _ => PluginLogger.None, "test");

    private static CniRequest Request(string command, string extra = "", string version = "0.4.0", string netns = "/run/netns/p1") => new(
        CniEnvironment.Parse(new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = netns, ["CNI_IFNAME"] = "eth0",
            ["CNI_ARGS"] = PodArgs, ["CNI_PATH"] = "/opt/cni/bin",
        }),
        NetworkConfig.Parse(Encoding.UTF8.GetBytes($$"""{"cniVersion":"{{version}}","name":"aws-cni","type":"vpc-cni","mtu":"1500"{{extra}}}""")));

    [Fact]
    public async Task AddAsync_Success_WiresAndReturnsHostContainerAndDummyInterfaces()
    {
        _ipamd.AddReply = Reply("10.0.1.7", table: 2, device: 1);

        var result = await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        _ipamd.Adds.Should().ContainSingle().Which.Should().Match<AddNetworkRequest>(r =>
            r.ContainerID == "c1" && r.IfName == "eth0" && r.NetworkName == "aws-cni" && r.K8SPODNAME == "web-0" && r.K8SPODNAMESPACE == "default" && r.Netns == "/run/netns/p1");
        _wiring.Setups.Should().ContainSingle().Which.Should().Be(
            new PodNetworkRequest("/run/netns/p1", "default", "web-0", "eth0", IPAddress.Parse("10.0.1.7"), 2) { Mtu = 1500 });
        result.Interfaces.Select(i => i.Name).Should().Equal("enitest", "eth0", VpcCniPlugin.DummyInterfaceName(new("web-0", "default", "c1", "u1")));
        result.Interfaces[1].Sandbox.Should().Be("/run/netns/p1");
        result.Interfaces[0].Sandbox.Should().BeNull();
        result.Interfaces[2].Sandbox.Should().BeNull("the dummy is a host-side marker");
        result.Interfaces[2].Mac.Should().Be("0");
        result.Ips.Should().ContainSingle().Which.Should().Be(new CniIPConfig(IPAddressAndPrefix.Parse("10.0.1.7/32")) { Interface = 1 });
    }

    [Fact]
    public async Task AddAsync_IPv6Cluster_WiresThe128AndReturnsItWithoutIPv4()
    {
        _ipamd.AddReply = new AddNetworkReply
        {
            Success = true,
            IPAllocationMetadata = [new IPAllocationMetadata { IPv6Addr = "2600:1f14:abc:de00:1234::7", RouteTableId = 254 }],
            VPCv6CIDRs = ["2600:1f14:abc:de00::/56"],
        };

        var result = await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        _wiring.Setups.Should().ContainSingle().Which.Should().Be(
            new PodNetworkRequest("/run/netns/p1", "default", "web-0", "eth0", IPAddress.Parse("2600:1f14:abc:de00:1234::7"), 254) { Mtu = 1500 });
        result.Ips.Should().ContainSingle().Which.Should().Be(new CniIPConfig(IPAddressAndPrefix.Parse("2600:1f14:abc:de00:1234::7/128")) { Interface = 1 });
    }

    [Fact]
    public async Task DeleteAsync_IPv6Cluster_TearsDownTheReleased128()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv6Addr = "2600:1f14:abc:de00:1234::7", RouteTableId = 254 }] };

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.Teardowns.Should().ContainSingle().Which.Address.Should().Be(IPAddress.Parse("2600:1f14:abc:de00:1234::7"));
    }

    [Fact]
    public async Task AddAsync_DaemonWires_PluginNeitherCallsAddNetworkNorWires()
    {
        _ipamd.AddPod = r => new AddPodNetworkReply
        {
            Outcome = PodWiringOutcome.PodWiringDone,
            Reply = Reply("10.0.1.9", table: 3, device: 2),
            HostVethName = "eni0123456789a",
            HostVethMac = new byte[] { 2, 0, 0, 0, 0, 0x11 },
            ContainerMac = new byte[] { 2, 0, 0, 0, 0, 0x22 },
        };

        var result = await Plugin().AddAsync(Request("ADD", extra: ""","vethPrefix":"abc","daemonPodWiring":true"""), CancellationToken.None);

        var sent = _ipamd.AddPods.Should().ContainSingle().Subject;
        sent.Add!.ContainerID.Should().Be("c1");
        sent.Add.Netns.Should().Be("/run/netns/p1");
        sent.Add.K8SPODNAME.Should().Be("web-0");
        (sent.VethPrefix, sent.Mtu, sent.NetnsDevice, sent.NetnsInode).Should().Be(("abc", 1500, 3UL, 4026532000UL),
            "the daemon wires with the conflist's settings, and only the namespace the plugin was given");
        _ipamd.Adds.Should().BeEmpty();
        _wiring.Setups.Should().BeEmpty();
        result.Interfaces.Select(i => (i.Name, i.Mac)).Should().Equal(
            ("eni0123456789a", "02:00:00:00:00:11"), ("eth0", "02:00:00:00:00:22"), (VpcCniPlugin.DummyInterfaceName(new("web-0", "default", "c1", "u1")), "0"));
        result.Ips.Should().ContainSingle().Which.Should().Be(new CniIPConfig(IPAddressAndPrefix.Parse("10.0.1.9/32")) { Interface = 1 });
    }

    [Fact]
    public async Task AddAsync_ConflistWithoutDaemonWiring_NoExtraCallBeforeAddNetwork()
    {
        _ipamd.AddPod = _ => throw new InvalidOperationException("must not be called");
        _ipamd.DelPod = _ => throw new InvalidOperationException("must not be called");
        _ipamd.AddReply = Reply("10.0.1.7");

        await Plugin().AddAsync(Request("ADD"), CancellationToken.None);
        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        (_ipamd.AddPods.Count, _ipamd.DelPods.Count).Should().Be((0, 0), "the default ADD and DEL are one call each");
        (_ipamd.Adds.Count, _ipamd.Dels.Count).Should().Be((1, 1));
    }

    [Fact]
    public void From_DaemonPodWiringNotABoolean_DecodingFailureNamingTheField()
    {
        var act = () => VpcCniPluginConfig.From(Request("ADD", extra: ""","daemonPodWiring":"yes" """).Config);

        act.Should().Throw<CniException>().Where(e => e.Code == CniErrorCode.DecodingFailure && e.Details!.Contains("daemonPodWiring"));
    }

    [Fact]
    public async Task AddAsync_DaemonCannotSeeTheNamespace_FallsBackToAddNetworkAndWiresHere()
    {
        _ipamd.AddPod = _ => new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = "the daemon cannot open /run/netns/p1" };
        _ipamd.AddReply = Reply("10.0.1.7");

        await Plugin().AddAsync(Request("ADD", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        _ipamd.AddPods.Should().ContainSingle();
        _ipamd.Adds.Should().ContainSingle();
        _wiring.Setups.Should().ContainSingle();
    }

    [Fact]
    public async Task AddAsync_NamespaceThePluginCannotOpen_SkipsTheDaemonWiring()
    {
        _wiring.Identity = null;
        _ipamd.AddPod = _ => throw new InvalidOperationException("must not be called");
        _ipamd.AddReply = Reply("10.0.1.7");

        await Plugin().AddAsync(Request("ADD", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        _ipamd.AddPods.Should().BeEmpty();
        _ipamd.Adds.Should().ContainSingle();
    }

    [Fact]
    public async Task AddAsync_DaemonWiringFailed_FailsNamingTheStepWithoutReleasingAgain()
    {
        _ipamd.AddPod = _ => new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringFailed, Reply = Reply("10.0.1.9"), Detail = "Pod network setup failed at CreateVeth: File exists" };

        var act = async () => await Plugin().AddAsync(Request("ADD", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        (ex.Code, ex.Message).Should().Be((CniErrorCode.Internal, "add command: failed to setup network"));
        ex.Details.Should().Contain("CreateVeth");
        _ipamd.Dels.Should().BeEmpty("the daemon released the address itself");
        _wiring.Setups.Should().BeEmpty();
    }

    [Fact]
    public async Task AddAsync_DaemonFindsTheInterface_FailsAsARepeatedAdd()
    {
        _ipamd.AddPod = _ => new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringInterfaceExists, Detail = "eth0 in /run/netns/p1" };

        var act = async () => await Plugin().AddAsync(Request("ADD", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Message.Should().Be("add cmd: interface already exists in the container");
        _ipamd.Adds.Should().BeEmpty();
    }

    [Fact]
    public async Task AddAsync_DaemonWiresButHasNoAddress_FailsTryAgainLater()
    {
        _ipamd.AddPod = _ => new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = new AddNetworkReply { Success = false, FailureReason = "no available IP addresses" } };

        var act = async () => await Plugin().AddAsync(Request("ADD", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        (ex.Code, ex.Message, ex.Details).Should().Be((CniErrorCode.TryAgainLater, "add cmd: failed to assign an IP address to container", "no available IP addresses"));
    }

    [Fact]
    public async Task DeleteAsync_DaemonTearsDown_PluginNeitherCallsDelNetworkNorTearsDown()
    {
        _ipamd.DelPod = _ => new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.9", RouteTableId = 3 }] } };

        await Plugin().DeleteAsync(Request("DEL", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        var sent = _ipamd.DelPods.Should().ContainSingle().Subject;
        (sent.Del!.Reason, sent.Del.K8SPODUID, sent.Netns, sent.NetnsInode).Should().Be(("PodDeleted", "u1", "/run/netns/p1", 4026532000UL));
        _ipamd.Dels.Should().BeEmpty();
        _wiring.Teardowns.Should().BeEmpty();
    }

    [Fact]
    public async Task DeleteAsync_NamespaceGone_AsksTheDaemonForTheHostSideOnly()
    {
        _wiring.Identity = null;
        _ipamd.DelPod = _ => new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = new DelNetworkReply { Success = true } };

        await Plugin().DeleteAsync(Request("DEL", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        var sent = _ipamd.DelPods.Should().ContainSingle().Subject;
        (sent.NetnsDevice, sent.NetnsInode).Should().Be((0UL, 0UL), "zero identity tells the daemon the namespace is gone");
    }

    [Fact]
    public async Task DeleteAsync_DaemonTeardownFailed_FailsNamingIt()
    {
        _ipamd.DelPod = _ => new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringFailed, Reply = new DelNetworkReply { Success = true }, Detail = "10.0.1.9: Operation not permitted" };

        var act = async () => await Plugin().DeleteAsync(Request("DEL", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        (ex.Message, ex.Details).Should().Be(("del cmd: failed on tear down pod network", "10.0.1.9: Operation not permitted"));
    }

    [Fact]
    public async Task DeleteAsync_DaemonCannotSeeTheNamespace_FallsBackToDelNetworkAndTearsDownHere()
    {
        _ipamd.DelPod = _ => new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted };
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.9", RouteTableId = 3 }] };

        await Plugin().DeleteAsync(Request("DEL", extra: ""","daemonPodWiring":true"""), CancellationToken.None);

        _ipamd.Dels.Should().ContainSingle();
        _wiring.Teardowns.Should().ContainSingle().Which.Address.Should().Be(IPAddress.Parse("10.0.1.9"));
    }

    [Fact]
    public async Task AddAsync_WiringFails_ReleasesAddressAndReportsStep()
    {
        _ipamd.AddReply = Reply("10.0.1.7");
        _wiring.SetupFailure = new InvalidOperationException("veth create failed");

        var act = async () => await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        ex.Code.Should().Be(CniErrorCode.Internal);
        ex.Message.Should().Be("add command: failed to setup network");
        ex.Details.Should().Contain("veth create failed");
        _ipamd.Dels.Should().ContainSingle().Which.Reason.Should().Be("SetupNSFailed");
    }

    [Fact]
    public async Task AddAsync_InterfaceAlreadyExists_FailsWithoutTouchingTheDaemon()
    {
        _wiring.ExistingInterfaces.Add("/run/netns/p1/eth0");

        var act = async () => await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Message.Should().Contain("already exists");
        _ipamd.Adds.Should().BeEmpty();
        _ipamd.Dels.Should().BeEmpty("the address belongs to the first ADD");
    }

    [Fact]
    public async Task AddAsync_DaemonUnreachable_Code11()
    {
        _ipamd.Unreachable = true;

        var act = async () => await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.TryAgainLater);
        _wiring.Setups.Should().BeEmpty();
    }

    [Fact]
    public async Task AddAsync_NoAddress_Code11WithDaemonReason()
    {
        _ipamd.AddReply = new AddNetworkReply { Success = false, FailureReason = "max pods reached (29)" };

        var act = async () => await Plugin().AddAsync(Request("ADD"), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        ex.Code.Should().Be(CniErrorCode.TryAgainLater);
        ex.Details.Should().Be("max pods reached (29)");
    }

    [Fact]
    public async Task AddAsync_InvalidVethPrefix_Code7BeforeCallingDaemon()
    {
        var act = async () => await Plugin().AddAsync(Request("ADD", ""","vethPrefix":"toolong" """), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
        _ipamd.Adds.Should().BeEmpty();
    }

    [Fact]
    public async Task AddAsync_WithPrevResult_KeepsItAndShiftsOurIndexes()
    {
        _ipamd.AddReply = Reply("10.0.1.7");
        var prev = ""","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"other0"}],"ips":[{"version":"4","address":"192.0.2.1/24","interface":0}]}""";

        var result = await Plugin().AddAsync(Request("ADD", prev), CancellationToken.None);

        result.Interfaces.Select(i => i.Name).First().Should().Be("other0");
        result.Ips.Should().HaveCount(2);
        result.Ips[1].Interface.Should().Be(2);
    }

    [Fact]
    public async Task DeleteAsync_Known_TearsDownEachReleasedAddress()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 3 }] };

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _ipamd.Dels.Should().ContainSingle().Which.Should().Match<DelNetworkRequest>(r => r.Reason == "PodDeleted" && r.K8SPODUID == "u1");
        _wiring.Teardowns.Should().ContainSingle().Which.Should().Be(
            new PodNetworkRequest("/run/netns/p1", "default", "web-0", "eth0", IPAddress.Parse("10.0.1.7"), 3) { Mtu = 1500 });
    }

    [Fact]
    public async Task DeleteAsync_Known_HandsTheHostVethToTheDaemonWithItsNamespace()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 3 }] };

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.RemoverAnswers.Should().Equal([true]);
        _ipamd.VethRemovals.Should().ContainSingle().Which.Should().Be(
            new RemoveHostVethRequest { IfIndex = 42, Name = "enitest", NamespaceDevice = 7, NamespaceInode = 4026531840 },
            "the namespace is the one the wiring found the veth in");
    }

    [Theory]
    [InlineData(nameof(GrpcStatusCode.Unimplemented))]
    [InlineData(nameof(GrpcStatusCode.Unavailable))]
    [InlineData(nameof(GrpcStatusCode.Internal))]
    public async Task DeleteAsync_DaemonCannotRemoveTheVeth_LeavesItToTheWiring(string failure)
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 3 }] };
        _ipamd.VethReply = () => throw new GrpcCallException(new GrpcCallStatus(Enum.Parse<GrpcStatusCode>(failure), "older daemon or a failure"));

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.RemoverAnswers.Should().Equal([false], "the wiring then deletes the veth itself");
    }

    [Fact]
    public async Task DeleteAsync_DaemonRefusesTheVeth_LeavesItToTheWiring()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true, IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = "10.0.1.7", RouteTableId = 3 }] };
        _ipamd.VethReply = () => new RemoveHostVethReply { Removed = false, Reason = "the caller is in another network namespace" };

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.RemoverAnswers.Should().Equal([false]);
    }

    [Fact]
    public async Task DeleteAsync_DaemonRefuses_ReportsTryAgainLaterWithoutTeardown()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = false };

        var act = async () => await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.TryAgainLater);
        _wiring.Teardowns.Should().BeEmpty("nothing is torn down for an attachment the daemon did not release");
    }

    [Fact]
    public async Task DeleteAsync_DaemonUnreachable_TearsDownFromPrevResultAndSucceeds()
    {
        _ipamd.Unreachable = true;

        await Plugin().DeleteAsync(Request("DEL", PrevResultFromAdd("10.0.1.9"), netns: ""), CancellationToken.None);

        _wiring.Teardowns.Should().ContainSingle().Which.Address.Should().Be(IPAddress.Parse("10.0.1.9"));
        _wiring.RemoverAnswers.Should().Equal([(bool?)null], "with no daemon, the wiring deletes the veth itself");
    }

    [Fact]
    public async Task DeleteAsync_DaemonUnreachableNoPrevResult_SucceedsWithoutTeardown()
    {
        _ipamd.Unreachable = true;

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.Teardowns.Should().BeEmpty();
    }

    [Fact]
    public async Task DeleteAsync_UnknownAttachment_Succeeds()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true };

        await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        _wiring.Teardowns.Should().BeEmpty();
    }

    [Fact]
    public async Task DeleteAsync_UnknownToTheDaemonWithPrevResult_StillOffersTheVethToTheDaemon()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = true };

        await Plugin().DeleteAsync(Request("DEL", PrevResultFromAdd("10.0.1.9")), CancellationToken.None);

        _wiring.Teardowns.Should().ContainSingle().Which.Address.Should().Be(IPAddress.Parse("10.0.1.9"));
        _wiring.RemoverAnswers.Should().Equal([true]);
        _ipamd.VethRemovals.Should().ContainSingle();
    }

    [Fact]
    public async Task DeleteAsync_DaemonRefuses_Code11()
    {
        _ipamd.DelReply = new DelNetworkReply { Success = false };

        var act = async () => await Plugin().DeleteAsync(Request("DEL"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.TryAgainLater);
    }

    [Fact]
    public async Task CheckAsync_AllConsistent_Passes()
    {
        _ipamd.Attachment = new GetAttachmentReply { Found = true, IPv4Addr = "10.0.1.9", RouteTableId = 2 };

        await Plugin().CheckAsync(Request("CHECK", PrevResultFromAdd("10.0.1.9")), CancellationToken.None);

        _wiring.Checks.Should().ContainSingle().Which.RouteTable.Should().Be(2);
    }

    [Theory]
    [InlineData(false, "10.0.1.9", "", "no record")]
    [InlineData(true, "10.0.1.8", "", "address mismatch")]
    [InlineData(true, "10.0.1.9", "host veth enixxx is missing", "differs")]
    public async Task CheckAsync_Inconsistent_FailsNamingTheProblem(bool found, string daemonAddress, string difference, string message)
    {
        _ipamd.Attachment = new GetAttachmentReply { Found = found, IPv4Addr = daemonAddress };
        if (difference.Length > 0)
        {
            _wiring.Differences.Add(difference);
        }

        var act = async () => await Plugin().CheckAsync(Request("CHECK", PrevResultFromAdd("10.0.1.9")), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Message.Should().Contain(message);
    }

    [Fact]
    public async Task StatusAsync_Unreachable_Code50()
    {
        _ipamd.Unreachable = true;

        var act = async () => await Plugin().StatusAsync(Request("STATUS", version: "1.1.0"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Code.Should().Be(CniErrorCode.PluginNotAvailable);
    }

    [Theory]
    [InlineData(false, CniErrorCode.PluginNotAvailable)]
    [InlineData(true, CniErrorCode.PluginNotAvailableLimitedConnectivity)]
    public async Task StatusAsync_NotReady_Code50Or51(bool limited, CniErrorCode expected)
    {
        _ipamd.Status = new GetStatusReply { Ready = false, Reason = "pool exhausted", LimitedConnectivity = limited };

        var act = async () => await Plugin().StatusAsync(Request("STATUS", version: "1.1.0"), CancellationToken.None);

        var ex = (await act.Should().ThrowAsync<CniException>()).Which;
        ex.Code.Should().Be(expected);
        ex.Details.Should().Contain("pool exhausted");
    }

    [Fact]
    public async Task StatusAsync_Ready_Passes()
    {
        _ipamd.Status = new GetStatusReply { Ready = true };
        await Plugin().StatusAsync(Request("STATUS", version: "1.1.0"), CancellationToken.None);
    }

    [Fact]
    public async Task GarbageCollectAsync_SendsValidListAndTearsDownReleased()
    {
        _ipamd.GcReply = new GarbageCollectReply
        {
            Released = [new ReleasedAttachment { ContainerID = "old", IfName = "eth0", IPv4Addr = "10.0.1.5", PodName = "gone", PodNamespace = "default", RouteTableId = 2 }],
        };

        await Plugin().GarbageCollectAsync(Request("GC", ""","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]""", "1.1.0"), CancellationToken.None);

        _ipamd.Gcs.Should().ContainSingle().Which.ValidAttachments.Should().ContainSingle().Which.ContainerID.Should().Be("c1");
        _wiring.Teardowns.Should().ContainSingle().Which.PodName.Should().Be("gone");
    }

    [Fact]
    public async Task GarbageCollectAsync_DaemonErrors_ReportedAfterDoingTheRest()
    {
        _ipamd.GcReply = new GarbageCollectReply { Errors = ["cannot release x"] };

        var act = async () => await Plugin().GarbageCollectAsync(Request("GC", version: "1.1.0"), CancellationToken.None);

        (await act.Should().ThrowAsync<CniException>()).Which.Details.Should().Contain("cannot release x");
    }

    private static AddNetworkReply Reply(string address, int table = 254, int device = 0) => new()
    {
        Success = true,
        IPAllocationMetadata = [new IPAllocationMetadata { IPv4Addr = address, RouteTableId = table, DeviceNumber = device }],
    };

    private static string PrevResultFromAdd(string address) =>
        $$""","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"enitest"},{"name":"eth0","sandbox":"/run/netns/p1"},{"name":"dummy0123456789a","mac":"0"}],"ips":[{"version":"4","address":"{{address}}/32","interface":1}]}""";

    internal sealed class FakeIpamd : IIpamdClient
    {
        public bool Unreachable { get; set; }

        public AddNetworkReply AddReply { get; set; } = new();

        public DelNetworkReply DelReply { get; set; } = new() { Success = true };

        public GetAttachmentReply Attachment { get; set; } = new();

        public GetStatusReply Status { get; set; } = new();

        public GarbageCollectReply GcReply { get; set; } = new();

        public List<AddNetworkRequest> Adds { get; } = [];

        public List<DelNetworkRequest> Dels { get; } = [];

        public List<GarbageCollectRequest> Gcs { get; } = [];

        public List<RemoveHostVethRequest> VethRemovals { get; } = [];

        public Func<RemoveHostVethReply> VethReply { get; set; } = () => new RemoveHostVethReply { Removed = true };

        /// <summary>The daemon's AddPodNetwork; null for a daemon without it (UNIMPLEMENTED, as an older daemon or upstream's).</summary>
        public Func<AddPodNetworkRequest, AddPodNetworkReply>? AddPod { get; set; }

        /// <summary>The daemon's DelPodNetwork; null for a daemon without it.</summary>
        public Func<DelPodNetworkRequest, DelPodNetworkReply>? DelPod { get; set; }

        public List<AddPodNetworkRequest> AddPods { get; } = [];

        public List<DelPodNetworkRequest> DelPods { get; } = [];

        public Task<AddPodNetworkReply> AddPodNetworkAsync(AddPodNetworkRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            AddPods.Add(request);
            return Task.FromResult(AddPod?.Invoke(request) ?? throw new GrpcCallException(new GrpcCallStatus(GrpcStatusCode.Unimplemented, "unknown method AddPodNetwork")));
        }

        public Task<DelPodNetworkReply> DelPodNetworkAsync(DelPodNetworkRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            DelPods.Add(request);
            return Task.FromResult(DelPod?.Invoke(request) ?? throw new GrpcCallException(new GrpcCallStatus(GrpcStatusCode.Unimplemented, "unknown method DelPodNetwork")));
        }

        public Task<AddNetworkReply> AddNetworkAsync(AddNetworkRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            Adds.Add(request);
            return Task.FromResult(AddReply);
        }

        public Task<DelNetworkReply> DelNetworkAsync(DelNetworkRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            Dels.Add(request);
            return Task.FromResult(DelReply);
        }

        public Task<GetAttachmentReply> GetAttachmentAsync(GetAttachmentRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            return Task.FromResult(Attachment);
        }

        public Task<GetStatusReply> GetStatusAsync(CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            return Task.FromResult(Status);
        }

        public Task<GarbageCollectReply> GarbageCollectAsync(GarbageCollectRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            Gcs.Add(request);
            return Task.FromResult(GcReply);
        }

        public Task<RemoveHostVethReply> RemoveHostVethAsync(RemoveHostVethRequest request, CancellationToken cancellationToken)
        {
            ThrowIfUnreachable();
            VethRemovals.Add(request);
            return Task.FromResult(VethReply());
        }

        public void Dispose()
        {
        }

        private void ThrowIfUnreachable()
        {
            if (Unreachable)
            {
                throw new IpamdUnreachableException("/nowhere.sock", new GrpcCallException(new GrpcCallStatus(GrpcStatusCode.Unavailable, "no socket")));
            }
        }
    }

    internal sealed class FakeWiring : IPodWiring
    {
        public Exception? SetupFailure { get; set; }

        public List<PodNetworkRequest> Setups { get; } = [];

        public List<PodNetworkRequest> Teardowns { get; } = [];

        public List<PodNetworkRequest> Checks { get; } = [];

        public List<string> Differences { get; } = [];

        public PodNetworkSetupResult Setup(PodNetworkRequest request)
        {
            if (SetupFailure is not null)
            {
                throw SetupFailure;
            }

            Setups.Add(request);
            return new PodNetworkSetupResult("enitest", PhysicalAddress.Parse("02-00-00-00-00-01"), 7, PhysicalAddress.Parse("02-00-00-00-00-02"), 2);
        }

        /// <summary>What the remover the plugin passed answered for the host veth (null: no remover was passed).</summary>
        public List<bool?> RemoverAnswers { get; } = [];

        public void Teardown(PodNetworkRequest request, IHostVethRemover? remover = null)
        {
            Teardowns.Add(request);
            RemoverAnswers.Add(remover?.TryRemove(42, "enitest", new VpcCni.Linux.Namespaces.NetworkNamespaceIdentity(7, 4026531840)));
        }

        public HashSet<string> ExistingInterfaces { get; } = [];

        public bool InterfaceExists(string namespacePath, string interfaceName) => ExistingInterfaces.Contains($"{namespacePath}/{interfaceName}");

        /// <summary>The identity every namespace path has for this fake (null: none can be opened).</summary>
        public VpcCni.Linux.Namespaces.NetworkNamespaceIdentity? Identity { get; set; } = new(3, 4026532000);

        public VpcCni.Linux.Namespaces.NetworkNamespaceIdentity? IdentityOf(string namespacePath) => namespacePath.Length == 0 ? null : Identity;

        public IReadOnlyList<string> Check(PodNetworkRequest request)
        {
            Checks.Add(request);
            return Differences;
        }

        public void Dispose()
        {
        }
    }
}
