using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using VpcCni.Cloud;
using VpcCni.Ipam;
using VpcCni.Ipam.Durable;
using NetworkInterface = VpcCni.Cloud.NetworkInterface;
using VpcCni.Linux.Host;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;

namespace VpcCni.Hosting.Daemon;

/// <summary>The host-side networking the daemon owns: node setup, and per-ENI routes/rules as ENIs come and go.</summary>
public interface INodeNetwork : IEniLifecycleHook
{
    /// <summary>Evidence used at restore time that a recorded pod is gone; null for none.</summary>
    IPodLivenessEvidence? Liveness { get; }

    /// <summary>Primary ENI, host sysctls and SNAT/connmark rules (upstream SetupHostNetwork).</summary>
    Task SetupNodeAsync(InstanceIdentity instance, CancellationToken cancellationToken);

    /// <summary>
    /// The VPC's CIDR blocks changed after <see cref="SetupNodeAsync"/>: re-applies the SNAT/connmark rules exactly as
    /// setup does, with <paramref name="instance"/>'s <see cref="InstanceIdentity.VpcCidrs"/> (idempotent; exemptions
    /// of blocks no longer listed are removed). Without host networking there is nothing to do.
    /// </summary>
    Task UpdateVpcCidrsAsync(InstanceIdentity instance, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>No host networking (a daemon on the in-process simulated cloud, where ENIs have no links).</summary>
internal sealed class NoNodeNetwork : INodeNetwork
{
    public IPodLivenessEvidence? Liveness => null;

    public Task SetupNodeAsync(InstanceIdentity instance, CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask OnEniAddedAsync(NetworkInterface eni, int routeTableId, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask OnEniRemovedAsync(NetworkInterface eni, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// The Linux datapath of the namespace the daemon runs in (the node), over the datapath parts that
/// <see cref="Linux.LinuxServiceCollectionExtensions.AddVpcCniLinuxDatapath(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{Linux.LinuxDatapathOptions}?)"/>
/// registers; whoever built those parts owns and disposes them.
/// </summary>
internal sealed class LinuxNodeNetwork : INodeNetwork
{
    private readonly DaemonSettings _settings;
    private readonly HostNetworkDatapath _host;
    private readonly SnatReconciler _snat;
    private long _snatSuccesses;
    private long _snatErrors;
    /// <summary>The primary ENI's link name once set up (the SNAT rules name it).</summary>
    private volatile string? _primaryInterface;

    public LinuxNodeNetwork(DaemonSettings settings, HostNetworkDatapath host, SnatReconciler snat, PodHostState pods)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(snat);
        ArgumentNullException.ThrowIfNull(pods);
        _settings = settings;
        _host = host;
        _snat = snat;
        Liveness = new HostVethLiveness(pods);
    }

    public IPodLivenessEvidence? Liveness { get; }

    /// <summary>The SNAT backend in use after setup (metrics).</summary>
    public ConnmarkBackend Backend => _snat.Backend;

    public async Task SetupNodeAsync(InstanceIdentity instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var primary = await _host.SetupPrimaryEniAsync(new PrimaryEniConfiguration(PhysicalAddress.Parse(instance.PrimaryMacAddress.Replace(':', '-')))
        {
            Mtu = _settings.EniMtu,
            ConnectionMark = _settings.ConnectionMark,
            NodePortSupport = _settings.NodePortSupport,
            ExternalSnat = _settings.ExternalSnat,
            // IPv6 cluster: the IPv6 sysctls (forwarding, accept_ra=2) and the fwmark rule in the IPv6 family, as upstream.
            EnableIPv6 = _settings.Ipam.EnableIPv6,
            EnableV6Egress = _settings.EnableV6Egress && !_settings.Ipam.EnableIPv6,
        }, cancellationToken).ConfigureAwait(false);
        _host.UpdateExternalServiceRules(_settings.ExternalServiceCidrs);
        _primaryInterface = primary.Name;
        if (!_settings.Ipam.EnableIPv6)
        {
            // No SNAT and no connmark chains in IPv6 mode (upstream §4.5): pods' addresses are routable as they are.
            ReconcileSnat(primary.Name, instance);
        }
    }

    public Task UpdateVpcCidrsAsync(InstanceIdentity instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        cancellationToken.ThrowIfCancellationRequested();
        var primaryInterface = _primaryInterface ?? throw new InvalidOperationException("the node's host network is not set up yet");
        if (!_settings.Ipam.EnableIPv6)
        {
            ReconcileSnat(primaryInterface, instance);
        }

        return Task.CompletedTask;
    }

    private void ReconcileSnat(string primaryInterface, InstanceIdentity instance)
    {
        try
        {
            var result = _snat.Reconcile(new SnatConfiguration(primaryInterface, instance.PrimaryIPv4, instance.VpcCidrs)
            {
                ExcludedCidrs = _settings.ExcludeSnatCidrs,
                ExternalSnat = _settings.ExternalSnat,
                Randomization = _settings.SnatRandomization,
                ConnectionMark = _settings.ConnectionMark,
                VethPrefix = _settings.VethPrefix,
                NodePortSupport = _settings.NodePortSupport,
            });
            ActiveBackend = result.Backend;
            Interlocked.Increment(ref _snatSuccesses);
        }
        catch
        {
            Interlocked.Increment(ref _snatErrors);
            throw;
        }
    }

    /// <summary>The connmark backend of the last successful SNAT/connmark reconcile; null before one (metrics).</summary>
    public ConnmarkBackend? ActiveBackend { get; private set; }

    /// <summary>SNAT/connmark reconciles that succeeded and that failed (metrics).</summary>
    public (long Succeeded, long Failed) SnatReconciles => (Interlocked.Read(ref _snatSuccesses), Interlocked.Read(ref _snatErrors));

    public async ValueTask OnEniAddedAsync(NetworkInterface eni, int routeTableId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        if (eni.IsPrimary)
        {
            return;
        }

        await _host.SetupSecondaryEniAsync(
            new SecondaryEniConfiguration(PhysicalAddress.Parse(eni.MacAddress.Replace(':', '-')), eni.PrimaryIPv4, eni.SubnetCidr, routeTableId) { Mtu = _settings.EniMtu },
            cancellationToken).ConfigureAwait(false);
    }

    public ValueTask OnEniRemovedAsync(NetworkInterface eni, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(eni);
        if (!eni.IsPrimary)
        {
            _host.RemoveSecondaryEniRules(eni.PrimaryIPv4);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A recorded pod whose host veth no longer exists is gone (its sandbox was torn down). The veth is matched by its
    /// hash suffix under any prefix, so pods wired before a change of AWS_VPC_K8S_CNI_VETHPREFIX stay live. A dropped
    /// pod's 512/1536 host rules are removed (upstream restore), so its address can serve a new pod cleanly.
    /// </summary>
    internal sealed class HostVethLiveness(PodHostState pods) : IPodLivenessEvidence
    {
        public bool IsPodGone(AllocationRecord allocation)
        {
            ArgumentNullException.ThrowIfNull(allocation);
            if (string.IsNullOrEmpty(allocation.Metadata.Namespace) || string.IsNullOrEmpty(allocation.Metadata.Name))
            {
                return false;
            }

            return !pods.HasHostVeth(allocation.Metadata.Namespace, allocation.Metadata.Name);
        }

        public ValueTask OnGonePodDroppedAsync(AllocationRecord allocation, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(allocation);
            pods.RemovePodRules(allocation.Address.ToIPAddress());
            return ValueTask.CompletedTask;
        }
    }
}
