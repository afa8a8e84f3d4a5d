using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class KubernetesPodEvidenceTests : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private static AllocationRecord Allocation(string ns, string name) =>
        new(new AttachmentKey("aws-cni", "c-" + name, "eth0"), PodAddress.From(IPAddress.Parse("10.0.0.5")), 1, new PodMetadata(ns, name));

    private async Task<Informer<PodInfo>> SyncedAsync(params PodInfo[] pods)
    {
        var informer = new Informer<PodInfo>(new FakeListWatch<PodInfo>(p => p.Key, pods), new InformerTiming(), TimeProvider.System, NullLogger.Instance);
        _ = informer.RunAsync(_stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(5));
        return informer;
    }

    private static PodInfo Pod(string ns, string name) => new(ns, name, "uid", "node-1", "Running", null);

    [Fact]
    public async Task IsPodGone_PodListedByTheApi_NeverGoneEvenIfTheHostSaysSo()
    {
        var evidence = new KubernetesPodEvidence(await SyncedAsync(Pod("default", "web")), new Always(gone: true));

        evidence.IsPodGone(Allocation("default", "web")).Should().BeFalse();
    }

    [Fact]
    public async Task IsPodGone_PodNotListed_Gone()
    {
        var evidence = new KubernetesPodEvidence(await SyncedAsync(Pod("default", "other")), new Always(gone: false));

        evidence.IsPodGone(Allocation("default", "web")).Should().BeTrue();
    }

    [Fact]
    public void IsPodGone_ApiNotSynced_TheHostsConservativeRuleDecides()
    {
        var informer = new Informer<PodInfo>(new FakeListWatch<PodInfo>(p => p.Key, [], failList: true), new InformerTiming(), TimeProvider.System, NullLogger.Instance);
        _ = informer.RunAsync(_stop.Token);

        new KubernetesPodEvidence(informer, fallback: null).IsPodGone(Allocation("default", "web")).Should().BeFalse("no evidence: keep");
        new KubernetesPodEvidence(informer, new Always(gone: true)).IsPodGone(Allocation("default", "web")).Should().BeTrue("the host's veth evidence still counts");
    }

    [Fact]
    public async Task IsPodGone_AllocationWithoutPodMetadata_LeftToTheHost()
    {
        var evidence = new KubernetesPodEvidence(await SyncedAsync(), fallback: null);

        evidence.IsPodGone(Allocation("", "")).Should().BeFalse();
    }

    [Fact]
    public async Task OnGonePodDropped_DelegatesTheHostCleanup()
    {
        var host = new Always(gone: false);
        var evidence = new KubernetesPodEvidence(await SyncedAsync(), host);

        await evidence.OnGonePodDroppedAsync(Allocation("default", "web"), CancellationToken.None);

        host.Dropped.Should().Be(1, "the pod's host rules are still the host's to remove");
    }

    private sealed class Always(bool gone) : IPodLivenessEvidence
    {
        public int Dropped { get; private set; }

        public bool IsPodGone(AllocationRecord allocation) => gone;

        public ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken)
        {
            Dropped++;
            return ValueTask.CompletedTask;
        }
    }
}
