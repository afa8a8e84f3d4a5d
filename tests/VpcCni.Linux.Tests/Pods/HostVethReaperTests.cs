using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Pods;

[Trait("Category", "Privileged")]
public sealed class HostVethReaperTests
{
    private static int Veth(TestNamespace node, TestNamespace pod, string name, string peer = "eth0")
    {
        node.Client.CreateLink(new VethCreateRequest(name, peer) { PeerNamespace = pod.Handle });
        return node.Client.FindLinkByName(name)!.Index;
    }

    [Fact]
    public async Task RemoveAsync_PodVethOfThisNamespace_GoneFromBothNamespacesWhenItCompletes()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0001");

        var result = await reaper.RemoveAsync(index, "enireap0001", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Removed));
        node.Client.FindLinkByIndex(index).Should().BeNull("the request completes once the link has left the namespace");
        pod.Client.FindLinkByName("eth0").Should().BeNull("a veth's ends go together");
    }

    [Fact]
    public async Task RemoveAsync_OnlyTheKernelsNotificationCompletes_StillRemoved()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle) { WorkersCompleteRequests = false };
        var index = Veth(node, pod, "enireap0006");

        var result = await reaper.RemoveAsync(index, "enireap0006", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Outcome.Should().Be(HostVethReapOutcome.Removed, "the RTM_DELLINK notification settles the request");
        node.Client.FindLinkByIndex(index).Should().BeNull();
    }

    [Fact]
    public async Task RemoveAsync_SameVethTwiceAtOnce_BothSeeItGone()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0007");

        var results = await Task.WhenAll(
            reaper.RemoveAsync(index, "enireap0007", node.Handle.Identity, TestContext.Current.CancellationToken),
            reaper.RemoveAsync(index, "enireap0007", node.Handle.Identity, TestContext.Current.CancellationToken));

        results.Should().OnlyContain(r => r.Outcome == HostVethReapOutcome.Removed || r.Outcome == HostVethReapOutcome.AlreadyGone);
        node.Client.FindLinkByIndex(index).Should().BeNull();
    }

    [Fact]
    public async Task RemoveAsync_CallerStopsWaiting_ThrowsAndTheVethIsRemovedAnyway()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0008");

        var cancelled = async () => await reaper.RemoveAsync(index, "enireap0008", node.Handle.Identity, new CancellationToken(canceled: true));

        await cancelled.Should().ThrowAsync<OperationCanceledException>();
        var again = await reaper.RemoveAsync(index, "enireap0008", node.Handle.Identity, TestContext.Current.CancellationToken);
        again.Outcome.Should().BeOneOf(HostVethReapOutcome.Removed, HostVethReapOutcome.AlreadyGone);
        node.Client.FindLinkByIndex(index).Should().BeNull();
    }

    [Fact]
    public async Task RemoveAsync_NameOfAnotherLink_RefusedAndTheLinkStays()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0002");

        var result = await reaper.RemoveAsync(index, "enireap9999", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("enireap0002").And.Contain("enireap9999");
        node.Client.FindLinkByIndex(index)!.Name.Should().Be("enireap0002");
    }

    [Fact]
    public async Task RemoveAsync_NameWithoutThePrefix_RefusedAndTheLinkStays()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "other0");

        var result = await reaper.RemoveAsync(index, "other0", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("prefix 'eni'");
        node.Client.FindLinkByIndex(index).Should().NotBeNull();
    }

    [Fact]
    public async Task RemoveAsync_LinkThatIsNotAVeth_Refused()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var reaper = new HostVethReaper(new HostVethReaperOptions { VethPrefix = "lo" }, node.Handle);

        var result = await reaper.RemoveAsync(node.Client.FindLinkByName("lo")!.Index, "lo", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("not veth");
        node.Client.FindLinkByName("lo").Should().NotBeNull();
    }

    [Fact]
    public async Task RemoveAsync_CallerInAnotherNamespace_RefusedAndTheLinkStays()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0003");

        var result = await reaper.RemoveAsync(index, "enireap0003", pod.Handle.Identity, TestContext.Current.CancellationToken);

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Refused, "the caller is in another network namespace"));
        node.Client.FindLinkByIndex(index).Should().NotBeNull();
    }

    [Fact]
    public async Task RemoveAsync_IndexNoLongerInUse_AlreadyGone()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        using var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0004");
        node.Client.DeleteLink(index);

        var result = await reaper.RemoveAsync(index, "enireap0004", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Outcome.Should().Be(HostVethReapOutcome.AlreadyGone);
    }

    [Fact]
    public async Task RemoveAsync_ManyAtOnce_EveryVethRemoved()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var reaper = new HostVethReaper(new HostVethReaperOptions { Workers = 2 }, node.Handle);
        var pods = Enumerable.Range(0, 12).Select(_ => new TestNamespace("rp")).ToList();
        try
        {
            var veths = pods.Select((pod, i) => (Index: Veth(node, pod, $"enimany{i:D4}"), Name: $"enimany{i:D4}")).ToList();

            var results = await Task.WhenAll(veths.Select(v => reaper.RemoveAsync(v.Index, v.Name, node.Handle.Identity, TestContext.Current.CancellationToken)));

            results.Should().OnlyContain(r => r.Outcome == HostVethReapOutcome.Removed);
            node.Client.GetLinks().Select(l => l.Name).Should().Equal(["lo"]);
        }
        finally
        {
            pods.ForEach(p => p.Dispose());
        }
    }

    [Fact]
    public async Task RemoveAsync_AfterDispose_Refused()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var pod = new TestNamespace("rp");
        var reaper = new HostVethReaper(hostNamespace: node.Handle);
        var index = Veth(node, pod, "enireap0005");
        reaper.Dispose();

        var result = await reaper.RemoveAsync(index, "enireap0005", node.Handle.Identity, TestContext.Current.CancellationToken);

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Refused, "shutting down"));
        node.Client.FindLinkByIndex(index).Should().NotBeNull();
    }

    [Fact]
    public void Constructor_LongVethPrefix_NamesTheVariable()
    {
        var act = () => new HostVethReaper(new HostVethReaperOptions { VethPrefix = "toolong" });

        act.Should().Throw<ArgumentException>().WithMessage("*AWS_VPC_K8S_CNI_VETHPREFIX*");
    }
}
