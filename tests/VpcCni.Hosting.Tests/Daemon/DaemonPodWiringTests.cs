using System.Net;
using VpcCni.Aws.Simulation;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Rpc;
using VpcCni.Ipam;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// ADD and DEL wired by the daemon, with real netlink in a scratch "node" namespace and a pod namespace of the test's
/// own (never the root namespace), over a node on the simulated cloud.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class DaemonPodWiringTests : IAsyncLifetime
{
    private readonly string _nodeName = $"vcw{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}-n";
    private readonly string _podName = $"vcw{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}-p";
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-wiring-").FullName;
    private IpamdNode? _node;
    private DaemonPodWiring? _wiring;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return;
        }

        NetworkNamespace.Create(_nodeName);
        NetworkNamespace.Create(_podName);
        var cluster = SimulatedCluster.Create("m5.4xlarge");
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(_directory, "ipam.json"),
            Ipam = new IpamOptions(),
        };
        _node = DaemonNodes.Create(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);
        await _node.StartAsync(Ct);
        _wiring = new DaemonPodWiring(_node, NetworkNamespace.OpenByName(_nodeName), reaper: null, logger: null);
    }

    public async ValueTask DisposeAsync()
    {
        _wiring?.Dispose();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        foreach (var name in new[] { _podName, _nodeName })
        {
            if (File.Exists(NetworkNamespace.PathOf(name)))
            {
                NetworkNamespace.Delete(name);
            }
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AddAsync_NamespaceTheDaemonSees_AssignsAndWiresThenDeleteUndoesIt()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");

        var added = await _wiring!.AddAsync(AddRequest(), maxWait: null, Ct);

        added.Outcome.Should().Be(PodWiringOutcome.PodWiringDone, added.Detail);
        added.Reply.Success.Should().BeTrue(added.Reply.FailureReason);
        var address = IPAddress.Parse(added.Reply.IPAllocationMetadata[0].IPv4Addr);
        added.HostVethName.Should().Be(PodNetworkDatapath.HostVethName("eni", "default", "web-0"));
        using (var pod = RtNetlinkClient.Open(NetworkNamespace.OpenByName(_podName)))
        {
            var eth0 = pod.FindLinkByName("eth0");
            eth0.Should().NotBeNull();
            pod.GetAddresses().Should().Contain(a => a.LinkIndex == eth0!.Index && a.Address.Equals(address));
            added.ContainerMac.ToByteArray().Should().Equal(eth0!.HardwareAddress!.GetAddressBytes());
        }

        using var node = RtNetlinkClient.Open(NetworkNamespace.OpenByName(_nodeName));
        node.FindLinkByName(added.HostVethName)!.HardwareAddress!.GetAddressBytes().Should().Equal(added.HostVethMac.ToByteArray());

        var deleted = await _wiring.DeleteAsync(DelRequest(withNamespace: true), Ct);

        deleted.Outcome.Should().Be(PodWiringOutcome.PodWiringDone, deleted.Detail);
        deleted.Reply.IPAllocationMetadata.Should().ContainSingle().Which.IPv4Addr.Should().Be(address.ToString());
        node.FindLinkByName(added.HostVethName).Should().BeNull();
        _node!.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }).Found.Should().BeFalse();
    }

    [Fact]
    public async Task AddAsync_NamespaceIdentityDiffers_NotAttemptedAndNothingAssigned()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var request = AddRequest();
        request.NetnsInode += 1;

        var added = await _wiring!.AddAsync(request, maxWait: null, Ct);

        added.Outcome.Should().Be(PodWiringOutcome.PodWiringNotAttempted);
        added.Detail.Should().Contain("another namespace");
        _node!.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }).Found.Should().BeFalse();
    }

    [Fact]
    public async Task AddAsync_RepeatedAdd_InterfaceExistsAndTheFirstAddressStays()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var first = await _wiring!.AddAsync(AddRequest(), maxWait: null, Ct);

        var second = await _wiring.AddAsync(AddRequest(containerId: "c2"), maxWait: null, Ct);

        second.Outcome.Should().Be(PodWiringOutcome.PodWiringInterfaceExists);
        _node!.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }).IPv4Addr
            .Should().Be(first.Reply.IPAllocationMetadata[0].IPv4Addr);
        _node.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c2", IfName = "eth0" }).Found.Should().BeFalse();
    }

    [Fact]
    public async Task AddAsync_WiringFails_AddressReleasedAndNoVethLeft()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var request = AddRequest();
        request.Mtu = 100; // refused by the datapath

        var added = await _wiring!.AddAsync(request, maxWait: null, Ct);

        added.Outcome.Should().Be(PodWiringOutcome.PodWiringFailed);
        added.Detail.Should().Contain("MTU");
        _node!.GetAttachment(new GetAttachmentRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0" }).Found.Should().BeFalse();
        using var node = RtNetlinkClient.Open(NetworkNamespace.OpenByName(_nodeName));
        node.FindLinkByName(PodNetworkDatapath.HostVethName("eni", "default", "web-0")).Should().BeNull();
    }

    [Fact]
    public async Task DeleteAsync_NamespaceGone_ReleasesAndRemovesTheHostRules()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var added = await _wiring!.AddAsync(AddRequest(), maxWait: null, Ct);
        added.Outcome.Should().Be(PodWiringOutcome.PodWiringDone, added.Detail);
        var podHost = new IPNetwork(IPAddress.Parse(added.Reply.IPAllocationMetadata[0].IPv4Addr), 32);
        NetworkNamespace.Delete(_podName);

        var deleted = await _wiring.DeleteAsync(DelRequest(withNamespace: false), Ct);

        deleted.Outcome.Should().Be(PodWiringOutcome.PodWiringDone, deleted.Detail);
        deleted.Reply.IPAllocationMetadata.Should().ContainSingle();
        using var node = RtNetlinkClient.Open(NetworkNamespace.OpenByName(_nodeName));
        node.GetRules().Should().NotContain(r => podHost.Equals(r.Destination) || podHost.Equals(r.Source));
    }

    private AddPodNetworkRequest AddRequest(string containerId = "c1")
    {
        using var pod = NetworkNamespace.OpenByName(_podName);
        return new AddPodNetworkRequest
        {
            Add = new AddNetworkRequest
            {
                NetworkName = "aws-cni", ContainerID = containerId, IfName = "eth0", K8SPODNAME = "web-0", K8SPODNAMESPACE = "default",
                Netns = NetworkNamespace.PathOf(_podName),
            },
            VethPrefix = "eni",
            Mtu = 9001,
            NetnsDevice = pod.Identity.Device,
            NetnsInode = pod.Identity.Inode,
        };
    }

    private DelPodNetworkRequest DelRequest(bool withNamespace)
    {
        var request = new DelPodNetworkRequest
        {
            Del = new DelNetworkRequest { NetworkName = "aws-cni", ContainerID = "c1", IfName = "eth0", K8SPODNAME = "web-0", K8SPODNAMESPACE = "default", Reason = "PodDeleted" },
            VethPrefix = "eni",
            Mtu = 9001,
            Netns = NetworkNamespace.PathOf(_podName),
        };
        if (withNamespace)
        {
            using var pod = NetworkNamespace.OpenByName(_podName);
            (request.NetnsDevice, request.NetnsInode) = (pod.Identity.Device, pod.Identity.Inode);
        }

        return request;
    }
}
