using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Hosting.Rpc;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Pods;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// ADD and DEL with the pod's wiring done in the daemon (<c>AddPodNetwork</c>/<c>DelPodNetwork</c>): the daemon is warm
/// (netlink sockets open, code compiled, no process start), so the plugin's ADD becomes one call. The daemon wires
/// only a namespace it sees as the plugin does (same device and inode); otherwise it does nothing and the plugin falls
/// back to AddNetwork and its own wiring, as it does against a daemon without these calls.
/// </summary>
public sealed partial class DaemonPodWiring : IDisposable
{
    private readonly IpamdNode _node;
    private readonly NetworkNamespace _host;
    private readonly HostVethReaper? _reaper;
    private readonly ILogger _logger;
    // One datapath per veth prefix (the conflist names it; almost always one); netlink sockets are not shared between
    // threads, so each datapath is used under its own lock. The kernel serialises link changes (RTNL) anyway.
    private readonly ConcurrentDictionary<string, (PodNetworkDatapath Datapath, SemaphoreSlim Lock)> _datapaths = new(StringComparer.Ordinal);

    /// <summary>Wires pods in the daemon's own network namespace (the node's), where the plugin runs too.</summary>
    public DaemonPodWiring(IpamdNode node, HostVethReaper? reaper = null, ILogger<DaemonPodWiring>? logger = null)
        : this(node, NetworkNamespace.Open("/proc/self/ns/net"), reaper, logger)
    {
    }

    /// <summary>Wires pods in <paramref name="host"/>, which this instance then owns (tests use a scratch namespace).</summary>
    internal DaemonPodWiring(IpamdNode node, NetworkNamespace host, HostVethReaper? reaper, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(host);
        _node = node;
        _host = host;
        _reaper = reaper;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Assigns an address and wires the pod; on a wiring failure undoes both.</summary>
    public async Task<AddPodNetworkReply> AddAsync(AddPodNetworkRequest request, TimeSpan? maxWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var add = request.Add ?? new AddNetworkRequest();
        if (!TryOpenSameNamespace(add.Netns, request.NetnsDevice, request.NetnsInode, out var podNamespace, out var why))
        {
            return new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = why };
        }

        (PodNetworkDatapath Datapath, SemaphoreSlim Lock) datapath;
        try
        {
            datapath = Datapath(request.VethPrefix);
        }
        catch (ArgumentException ex)
        {
            podNamespace.Dispose();
            return new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = ex.Message };
        }

        using (podNamespace)
        {
            // A repeated ADD must fail and leave the address with the first one (CNI spec).
            if (InterfaceExists(podNamespace, add.IfName))
            {
                return new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringInterfaceExists, Detail = $"{add.IfName} in {add.Netns}" };
            }

            var reply = await _node.AddNetworkAsync(add, maxWait, cancellationToken).ConfigureAwait(false);
            if (!reply.Success || reply.IPAllocationMetadata.Count == 0)
            {
                return new AddPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = reply };
            }

            var allocation = reply.IPAllocationMetadata[0];
            var addressText = AddressOf(allocation);
            if (!IPAddress.TryParse(addressText, out var address))
            {
                await ReleaseAsync(add, cancellationToken).ConfigureAwait(false);
                return Failed(reply, $"ipamd returned an invalid address {addressText}");
            }

            var wiring = new PodNetworkRequest(add.Netns, add.K8SPODNAMESPACE, add.K8SPODNAME, add.IfName, address, allocation.RouteTableId) { Mtu = request.Mtu };
            PodNetworkSetupResult wired;
            await datapath.Lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                wired = datapath.Datapath.Setup(wiring);
            }
#pragma warning disable CA1031 // Any wiring failure must release the address before it is reported.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.WiringFailed(_logger, ex, add.ContainerID, add.IfName, addressText);
                datapath.Lock.Release();
                await ReleaseAsync(add, cancellationToken).ConfigureAwait(false);
                return Failed(reply, ex.Message);
            }

            datapath.Lock.Release();
            Log.Wired(_logger, add.ContainerID, add.IfName, addressText, wired.HostVethName);
            return new AddPodNetworkReply
            {
                Outcome = PodWiringOutcome.PodWiringDone,
                Reply = reply,
                HostVethName = wired.HostVethName,
                HostVethMac = ByteString.CopyFrom(wired.HostVethMac.GetAddressBytes()),
                ContainerMac = wired.ContainerMac is { } mac ? ByteString.CopyFrom(mac.GetAddressBytes()) : ByteString.Empty,
            };
        }
    }

    /// <summary>Releases the attachment's addresses and tears down their wiring.</summary>
    public async Task<DelPodNetworkReply> DeleteAsync(DelPodNetworkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var del = request.Del ?? new DelNetworkRequest();
        // The plugin could not open CNI_NETNS (gone, or none given): tear down the host side only.
        var netns = request.NetnsDevice == 0 && request.NetnsInode == 0 ? "" : request.Netns;
        NetworkNamespace? podNamespace = null;
        if (netns.Length > 0)
        {
            if (!TryOpenSameNamespace(netns, request.NetnsDevice, request.NetnsInode, out podNamespace, out var why))
            {
                return new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = why };
            }
        }

        (PodNetworkDatapath Datapath, SemaphoreSlim Lock) datapath;
        try
        {
            datapath = Datapath(request.VethPrefix);
        }
        catch (ArgumentException ex)
        {
            podNamespace?.Dispose();
            return new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringNotAttempted, Detail = ex.Message };
        }

        using (podNamespace)
        {
            var reply = await _node.DelNetworkAsync(del, cancellationToken).ConfigureAwait(false);
            if (!reply.Success)
            {
                return new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = reply };
            }

            var errors = new List<string>();
            await datapath.Lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                foreach (var released in reply.IPAllocationMetadata)
                {
                    if (!IPAddress.TryParse(AddressOf(released), out var address) || del.K8SPODNAME.Length == 0)
                    {
                        continue;
                    }

                    try
                    {
                        datapath.Datapath.Teardown(
                            new PodNetworkRequest(netns, del.K8SPODNAMESPACE, del.K8SPODNAME, del.IfName, address, released.RouteTableId) { Mtu = request.Mtu },
                            _reaper is null ? null : new ReaperRemover(_reaper));
                    }
#pragma warning disable CA1031 // Every address is torn down; the failures are reported together.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        errors.Add($"{AddressOf(released)}: {ex.Message}");
                    }
                }
            }
            finally
            {
                datapath.Lock.Release();
            }

            return errors.Count == 0
                ? new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringDone, Reply = reply }
                : new DelPodNetworkReply { Outcome = PodWiringOutcome.PodWiringFailed, Reply = reply, Detail = string.Join("; ", errors) };
        }
    }

    public void Dispose()
    {
        foreach (var (datapath, gate) in _datapaths.Values)
        {
            datapath.Dispose();
            gate.Dispose();
        }

        _datapaths.Clear();
        _host.Dispose();
    }

    private static AddPodNetworkReply Failed(AddNetworkReply reply, string detail) =>
        new() { Outcome = PodWiringOutcome.PodWiringFailed, Reply = reply, Detail = detail };

    private (PodNetworkDatapath Datapath, SemaphoreSlim Lock) Datapath(string vethPrefix) =>
        _datapaths.GetOrAdd(vethPrefix, prefix => (new PodNetworkDatapath(_host, new PodNetworkOptions { VethPrefix = prefix }), new SemaphoreSlim(1, 1)));

    private static bool TryOpenSameNamespace(string path, ulong device, ulong inode, out NetworkNamespace podNamespace, out string why)
    {
        podNamespace = null!;
        if (string.IsNullOrEmpty(path))
        {
            why = "no network namespace given";
            return false;
        }

        try
        {
            podNamespace = NetworkNamespace.Open(path);
        }
        catch (IOException ex)
        {
            why = $"the daemon cannot open {path}: {ex.Message}";
            return false;
        }

        if (podNamespace.Identity != new NetworkNamespaceIdentity(device, inode))
        {
            podNamespace.Dispose();
            podNamespace = null!;
            why = $"{path} is another namespace from the daemon's mount namespace";
            return false;
        }

        why = "";
        return true;
    }

    private static bool InterfaceExists(NetworkNamespace podNamespace, string interfaceName)
    {
        using var client = Linux.Netlink.RtNetlinkClient.Open(podNamespace);
        return client.FindLinkByName(interfaceName) is not null;
    }

    private async Task ReleaseAsync(AddNetworkRequest add, CancellationToken cancellationToken)
    {
        var release = new DelNetworkRequest
        {
            ClientVersion = add.ClientVersion,
            K8SPODNAME = add.K8SPODNAME,
            K8SPODNAMESPACE = add.K8SPODNAMESPACE,
            K8SPODINFRACONTAINERID = add.K8SPODINFRACONTAINERID,
            Reason = "SetupNSFailed",
            IfName = add.IfName,
            NetworkName = add.NetworkName,
            ContainerID = add.ContainerID,
        };
        await _node.DelNetworkAsync(release, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The reaper behind the datapath's remover seam: it waits out the kernel's unregistration off this call.</summary>
    private sealed class ReaperRemover(HostVethReaper reaper) : IHostVethRemover
    {
        public bool TryRemove(int index, string name, NetworkNamespaceIdentity hostNamespace) =>
            reaper.RemoveAsync(index, name, hostNamespace, CancellationToken.None).GetAwaiter().GetResult().Outcome != HostVethReapOutcome.Refused;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "wired {ContainerId}/{IfName} ({Address}, veth {HostVeth}) for the plugin")]
        public static partial void Wired(ILogger logger, string containerId, string ifName, string address, string hostVeth);

        [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "pod wiring of {ContainerId}/{IfName} ({Address}) failed; released the address")]
        public static partial void WiringFailed(ILogger logger, Exception exception, string containerId, string ifName, string address);
    }

    /// <summary>The allocation's address: IPv4, or IPv6 in an IPv6 cluster.</summary>
    private static string AddressOf(IPAllocationMetadata allocation) =>
        allocation.IPv4Addr.Length > 0 ? allocation.IPv4Addr : allocation.IPv6Addr;
}
