using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Pods;

[Trait("Category", "Privileged")]
public sealed class HostVethReaperTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static int Veth(TestNamespace node, TestNamespace pod, string name)
    {
        node.Client.CreateLink(new VethCreateRequest(name, "eth0") { PeerNamespace = pod.Handle });
        return node.Client.FindLinkByName(name)!.Index;
    }

    [Fact]
    public async Task RemoveAsync_PodVethOfThisNamespace_GoneFromBothNamespacesWhenItCompletes()
    {
        using var scene = new Scene("enireap0001");

        var result = await scene.RemoveAsync();

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Removed));
        scene.VethExists.Should().BeFalse("the request completes once the link has left the namespace");
        scene.Pod.Client.FindLinkByName("eth0").Should().BeNull("a veth's ends go together");
    }

    [Fact]
    public async Task RemoveAsync_OnlyTheKernelsNotificationCompletes_StillRemoved()
    {
        using var scene = new Scene("enireap0006", workersCompleteRequests: false);

        var result = await scene.RemoveAsync();

        result.Outcome.Should().Be(HostVethReapOutcome.Removed, "the RTM_DELLINK notification settles the request");
        scene.VethExists.Should().BeFalse();
    }

    [Fact]
    public async Task RemoveAsync_SameVethTwiceAtOnce_BothSeeItGone()
    {
        using var scene = new Scene("enireap0007");

        var results = await Task.WhenAll(scene.RemoveAsync(), scene.RemoveAsync());

        results.Should().OnlyContain(r => r.Outcome == HostVethReapOutcome.Removed || r.Outcome == HostVethReapOutcome.AlreadyGone);
        scene.VethExists.Should().BeFalse();
    }

    [Fact]
    public async Task RemoveAsync_CallerStopsWaiting_ThrowsAndTheVethIsRemovedAnyway()
    {
        using var scene = new Scene("enireap0008");

        var cancelled = async () => await scene.RemoveAsync(cancellationToken: new CancellationToken(canceled: true));

        await cancelled.Should().ThrowAsync<OperationCanceledException>();
        (await scene.RemoveAsync()).Outcome.Should().BeOneOf(HostVethReapOutcome.Removed, HostVethReapOutcome.AlreadyGone);
        scene.VethExists.Should().BeFalse();
    }

    [Fact]
    public async Task RemoveAsync_NameOfAnotherLink_RefusedAndTheLinkStays()
    {
        using var scene = new Scene("enireap0002");

        var result = await scene.RemoveAsync(name: "enireap9999");

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("enireap0002").And.Contain("enireap9999");
        scene.Node.Client.FindLinkByIndex(scene.Index)!.Name.Should().Be("enireap0002");
    }

    [Fact]
    public async Task RemoveAsync_NameWithoutThePrefix_RefusedAndTheLinkStays()
    {
        using var scene = new Scene("other0");

        var result = await scene.RemoveAsync();

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("prefix 'eni'");
        scene.VethExists.Should().BeTrue();
    }

    [Fact]
    public async Task RemoveAsync_LinkThatIsNotAVeth_Refused()
    {
        Privileged.Require();
        using var node = new TestNamespace("rn");
        using var reaper = new HostVethReaper(new HostVethReaperOptions { VethPrefix = "lo" }, node.Handle);

        var result = await reaper.RemoveAsync(node.Client.FindLinkByName("lo")!.Index, "lo", node.Handle.Identity, Ct);

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("not veth");
        node.Client.FindLinkByName("lo").Should().NotBeNull();
    }

    [Fact]
    public async Task RemoveAsync_CallerInAnotherNamespace_RefusedAndTheLinkStays()
    {
        using var scene = new Scene("enireap0003");

        var result = await scene.RemoveAsync(caller: scene.Pod.Handle.Identity);

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Refused, "the caller is in another network namespace"));
        scene.VethExists.Should().BeTrue();
    }

    [Fact]
    public async Task RemoveAsync_IndexNoLongerInUse_AlreadyGone()
    {
        using var scene = new Scene("enireap0004");
        scene.Node.Client.DeleteLink(scene.Index);

        var result = await scene.RemoveAsync();

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

            var results = await Task.WhenAll(veths.Select(v => reaper.RemoveAsync(v.Index, v.Name, node.Handle.Identity, Ct)));

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
        using var scene = new Scene("enireap0005");
        scene.Reaper.Dispose();

        var result = await scene.RemoveAsync();

        result.Should().Be(new HostVethReapResult(HostVethReapOutcome.Refused, "shutting down"));
        scene.VethExists.Should().BeTrue();
    }

    [Fact]
    public void Constructor_LongVethPrefix_NamesTheVariable()
    {
        var act = () => new HostVethReaper(new HostVethReaperOptions { VethPrefix = "toolong" });

        act.Should().Throw<ArgumentException>().WithMessage("*AWS_VPC_K8S_CNI_VETHPREFIX*");
    }

    /// <summary>A node namespace with a reaper, a pod namespace, and one veth between them (skips without root).</summary>
    private sealed class Scene : IDisposable
    {
        public Scene(string veth, bool workersCompleteRequests = true)
        {
            Privileged.Require();
            Veth = veth;
            Node = new TestNamespace("rn");
            try
            {
                Pod = new TestNamespace("rp");
                Reaper = new HostVethReaper(hostNamespace: Node.Handle) { WorkersCompleteRequests = workersCompleteRequests };
                Index = HostVethReaperTests.Veth(Node, Pod, veth);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public TestNamespace Node { get; }

        public TestNamespace Pod { get; } = null!;

        public HostVethReaper Reaper { get; } = null!;

        public string Veth { get; }

        public int Index { get; }

        public bool VethExists => Node.Client.FindLinkByIndex(Index) is not null;

        public Task<HostVethReapResult> RemoveAsync(string? name = null, NetworkNamespaceIdentity? caller = null, CancellationToken? cancellationToken = null) =>
            Reaper.RemoveAsync(Index, name ?? Veth, caller ?? Node.Handle.Identity, cancellationToken ?? Ct);

        public void Dispose()
        {
            Reaper?.Dispose();
            Pod?.Dispose();
            Node.Dispose();
        }
    }
}
