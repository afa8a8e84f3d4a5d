using System.Net;
using System.Net.Sockets;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Pods;

public sealed class PodNetworkDatapathNamingTests
{
    [Theory]
    [InlineData("eni", "default", "nginx", 0, "enic440f455693")]
    [InlineData("eni", "kube-system", "coredns-5d78c9869d-abcde", 1, "eni270df83efaa")]
    public void HostVethName_MatchesUpstreamSha1Naming(string prefix, string ns, string pod, int index, string expected) =>
        PodNetworkDatapath.HostVethName(prefix, ns, pod, index).Should().Be(expected);
}

[Trait("Category", "Privileged")]
public sealed class PodNetworkDatapathTests
{
    private static PodNetworkRequest Request(TestNamespace pod, string address = "10.0.2.20", int table = 2) =>
        new(pod.Path, "default", "web-" + pod.Name, "eth0", IPAddress.Parse(address), table) { Mtu = 9001 };

    [Fact]
    public void Setup_SecondaryEniPod_CreatesUpstreamStateOnBothSides()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod);
        var result = datapath.Setup(request);

        result.HostVethName.Should().Be(PodNetworkDatapath.HostVethName("eni", "default", request.PodName));
        node.Exec("ip", "-o", "link", "show", result.HostVethName).Should().Contain("mtu 9001").And.Contain("state UP");
        node.Exec("ip", "-o", "addr", "show", "dev", result.HostVethName).Should().NotContain("inet ", "the host veth gets no IPv4 address");
        node.Exec("ip", "route", "show", "table", "main").Should().Contain($"10.0.2.20 dev {result.HostVethName} scope link");
        var rules = node.Exec("ip", "rule", "show");
        rules.Should().Contain("512:\tfrom all to 10.0.2.20 lookup main");
        rules.Should().Contain("1536:\tfrom 10.0.2.20 lookup 2");

        pod.Exec("ip", "-o", "addr", "show", "eth0").Should().Contain("inet 10.0.2.20/32");
        var podRoutes = pod.Exec("ip", "route", "show");
        podRoutes.Should().Contain("default via 169.254.1.1 dev eth0");
        podRoutes.Should().Contain("169.254.1.1 dev eth0 scope link");
        pod.Exec("ip", "neigh", "show", "dev", "eth0").Should().Contain($"169.254.1.1 lladdr {result.HostVethMac.ToString().ToLowerInvariant().Insert(10, ":").Insert(8, ":").Insert(6, ":").Insert(4, ":").Insert(2, ":")} PERMANENT");
        datapath.Check(request).Should().BeEmpty();
    }

    [Fact]
    public void Check_AfterManualDamage_ReportsEachDifference()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod);
        datapath.Setup(request);
        pod.Exec("ip", "neigh", "del", "169.254.1.1", "dev", "eth0");
        node.Exec("ip", "rule", "del", "prio", "512");
        var differences = datapath.Check(request);
        differences.Should().HaveCount(2);
        differences.Should().Contain(d => d.Contains("rule 512", StringComparison.Ordinal));
        differences.Should().Contain(d => d.Contains("permanent neighbour 169.254.1.1", StringComparison.Ordinal));
    }

    [Fact]
    public void Teardown_RestoresNodeExactlyAndIsIdempotent()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var before = StateSnapshot.Capture(node.Client);
        var request = Request(pod);
        datapath.Setup(request);
        datapath.Teardown(request);
        StateSnapshot.Capture(node.Client).Should().Equal(before);
        StateSnapshot.Capture(pod.Client).Where(l => l.StartsWith("link", StringComparison.Ordinal)).Should().ContainSingle("only lo is left in the pod");

        datapath.Teardown(request); // second teardown
        datapath.Teardown(request with { PodNamespacePath = "/run/netns/vcl-missing" }); // missing namespace
        StateSnapshot.Capture(node.Client).Should().Equal(before);
    }

    [Fact]
    public void Teardown_WithRemover_HandsTheVethOverAndDeletesItOnlyWhenDeclined()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod);
        var veth = datapath.Setup(request).HostVethName;
        var index = node.Client.FindLinkByName(veth)!.Index;
        var accepting = new RecordingRemover(answer: true);

        datapath.Teardown(request, accepting);

        accepting.Calls.Should().Equal([(index, veth)]);
        accepting.Namespaces.Should().Equal([node.Handle.Identity], "the namespace the veth was found in");
        node.Client.FindLinkByName(veth).Should().NotBeNull("a remover that took the veth is trusted with it");
        node.Exec("ip", "rule", "show").Should().NotContain("10.0.2.20", "the rules are removed here either way");

        var declining = new RecordingRemover(answer: false);
        datapath.Teardown(request, declining);

        declining.Calls.Should().Equal([(index, veth)]);
        node.Client.FindLinkByName(veth).Should().BeNull("a declined veth is deleted here");
    }

    [Fact]
    public void Teardown_RemoverThrows_DeletesTheVethItself()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod);
        var veth = datapath.Setup(request).HostVethName;

        datapath.Teardown(request, new RecordingRemover(answer: true, failure: new IOException("daemon gone")));

        node.Client.FindLinkByName(veth).Should().BeNull();
    }

    [Fact]
    public async Task Teardown_WithReaper_RestoresTheNodeExactly()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var before = StateSnapshot.Capture(node.Client);
        var request = Request(pod);
        datapath.Setup(request);

        var remover = new ReaperRemover(reaper);
        await Task.Run(() => datapath.Teardown(request, remover), TestContext.Current.CancellationToken);

        remover.Outcomes.Should().Equal([HostVethReapOutcome.Removed], "the reaper, not the datapath, removed the veth");
        StateSnapshot.Capture(node.Client).Should().Equal(before);
        StateSnapshot.Capture(pod.Client).Where(l => l.StartsWith("link", StringComparison.Ordinal)).Should().ContainSingle("only lo is left in the pod");
    }

    private sealed class RecordingRemover(bool answer, Exception? failure = null) : IHostVethRemover
    {
        public List<(int Index, string Name)> Calls { get; } = [];

        public List<VpcCni.Linux.Namespaces.NetworkNamespaceIdentity> Namespaces { get; } = [];

        public bool TryRemove(int index, string name, VpcCni.Linux.Namespaces.NetworkNamespaceIdentity hostNamespace)
        {
            Calls.Add((index, name));
            Namespaces.Add(hostNamespace);
            return failure is null ? answer : throw failure;
        }
    }

    private sealed class ReaperRemover(HostVethReaper reaper) : IHostVethRemover
    {
        public List<HostVethReapOutcome> Outcomes { get; } = [];

        public bool TryRemove(int index, string name, VpcCni.Linux.Namespaces.NetworkNamespaceIdentity hostNamespace)
        {
            var outcome = reaper.RemoveAsync(index, name, hostNamespace, CancellationToken.None).GetAwaiter().GetResult().Outcome;
            Outcomes.Add(outcome);
            return outcome != HostVethReapOutcome.Refused;
        }
    }

    [Fact]
    public void Teardown_VethAlreadyGone_RemovesRulesAndSucceeds()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var before = StateSnapshot.Capture(node.Client);
        var request = Request(pod);
        var result = datapath.Setup(request);
        node.Client.DeleteLink(result.HostVethName);
        datapath.Teardown(request);
        StateSnapshot.Capture(node.Client).Should().Equal(before);
    }

    [Fact]
    public void Teardown_TableUnknown_RemovesTheFromPodRuleOfAnyTable()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var before = StateSnapshot.Capture(node.Client);
        var request = Request(pod, table: 3);
        datapath.Setup(request);
        node.Exec("ip", "rule", "show").Should().Contain("1536:");

        datapath.Teardown(request with { RouteTable = 0 }); // DEL from prevResult: the daemon's table is not known

        StateSnapshot.Capture(node.Client).Should().Equal(before);
    }

    [Fact]
    public void Teardown_OlderSandboxOfTheSamePod_LeavesTheNewerSandboxWired()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var oldSandbox = new TestNamespace("po");
        using var newSandbox = new TestNamespace("pw");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var oldRequest = Request(oldSandbox, "10.0.1.7") with { PodName = "web-restarted" };
        var newRequest = Request(newSandbox, "10.0.1.8") with { PodName = "web-restarted" };
        datapath.Setup(oldRequest);
        datapath.Setup(newRequest); // same pod name, so the same host veth name: the stale one is replaced

        var remover = new RecordingRemover(answer: true);
        datapath.Teardown(oldRequest, remover); // the runtime cleans up the old sandbox afterwards

        remover.Calls.Should().BeEmpty("the veth belongs to the newer sandbox, so it is offered to no one");

        datapath.Check(newRequest).Should().BeEmpty("the newer sandbox's veth, route and rules stay");
        datapath.Teardown(newRequest);
        node.Exec("ip", "link", "show").Should().NotContain(PodNetworkDatapath.HostVethName("eni", newRequest.KubernetesNamespace, newRequest.PodName));
    }

    [Fact]
    public void Setup_Twice_ReplacesStaleVethAndStaysConsistent()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod, table: RouteTable.Main);
        datapath.Setup(request);
        datapath.Setup(request);
        datapath.Check(request).Should().BeEmpty();
        node.Exec("ip", "rule", "show").Should().NotContain("1536:", "a primary-ENI pod uses main");
    }

    [Fact]
    public void Setup_IPv6Pod_UsesFe80GatewayAndSlash128()
    {
        Privileged.Require();
        using var node = new TestNamespace("pn");
        using var pod = new TestNamespace("pp");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var request = Request(pod, "2001:db8:1::20", RouteTable.Main);
        datapath.Setup(request);
        pod.Exec("ip", "-6", "route", "show").Should().Contain("default via fe80::1 dev eth0");
        pod.Exec("ip", "-6", "addr", "show", "eth0").Should().Contain("2001:db8:1::20/128");
        node.Exec("ip", "-6", "rule", "show").Should().Contain("512:\tfrom all to 2001:db8:1::20 lookup main");
        datapath.Check(request).Should().BeEmpty();
        datapath.Teardown(request);
        node.Exec("ip", "-6", "rule", "show").Should().NotContain("2001:db8:1::20");
    }

    public static TheoryData<PodSetupStep> Steps() => new(Enum.GetValues<PodSetupStep>());

    [Theory]
    [MemberData(nameof(Steps))]
    public void Setup_FailingAtEachStep_LeavesNothingBehind(PodSetupStep failAt)
    {
        Privileged.Require();
        using var node = new TestNamespace("pf");
        using var pod = new TestNamespace("pf");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var nodeBefore = StateSnapshot.Capture(node.Client);
        var podBefore = StateSnapshot.Capture(pod.Client);
        datapath.BeforeStep = step =>
        {
            if (step == failAt)
            {
                throw new IOException($"injected failure at {step}");
            }
        };
        var request = Request(pod) with { InterfaceIndex = failAt >= PodSetupStep.AddContainerRoutes ? 1 : 0 };
        var act = () => datapath.Setup(request);
        act.Should().Throw<PodNetworkSetupException>().Which.Step.Should().Be(failAt);
        StateSnapshot.Capture(node.Client).Should().Equal(nodeBefore);
        StateSnapshot.Capture(pod.Client).Should().Equal(podBefore);
    }

    [Fact]
    public void Setup_KernelRejectsStep_RollsBackAndNamesStep()
    {
        Privileged.Require();
        using var node = new TestNamespace("pk");
        using var pod = new TestNamespace("pk");
        using var datapath = new PodNetworkDatapath(node.Handle);
        var nodeBefore = StateSnapshot.Capture(node.Client);
        // A link already named eth0 in the pod makes the veth creation fail with EEXIST.
        pod.Client.CreateLink(new VethCreateRequest("eth0", "other"));
        var podBefore = StateSnapshot.Capture(pod.Client);
        var act = () => datapath.Setup(Request(pod));
        act.Should().Throw<PodNetworkSetupException>().Which.Step.Should().Be(PodSetupStep.CreateVeth);
        StateSnapshot.Capture(node.Client).Should().Equal(nodeBefore);
        StateSnapshot.Capture(pod.Client).Should().Equal(podBefore);
    }

    [Fact]
    public void Constructor_LongVethPrefix_NamesTheVariable()
    {
        var act = () => new PodNetworkDatapath(null!, new PodNetworkOptions { VethPrefix = "toolong" });
        act.Should().Throw<ArgumentException>();
    }
}
