using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Linux.Host;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// The VPC-CIDR watcher over the real host network of a scratch namespace (never the root namespace): a CIDR block
/// associated later gains its SNAT/connmark exemption, one that goes away loses it, and a failed read changes nothing.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class VpcCidrWatcherSnatTests
{
    private static readonly IPNetwork Secondary = IPNetwork.Parse("100.64.0.0/16");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(ConnmarkBackend.Iptables)]
    [InlineData(ConnmarkBackend.Nftables)]
    public async Task CheckAsync_CidrAssociatedThenGone_ExemptionGainedThenRemoved(ConnmarkBackend backend)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "requires root (creates network namespaces)");
        var name = $"vcs{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        NetworkNamespace.Create(name);
        try
        {
            using var ns = NetworkNamespace.OpenByName(name);
            var cluster = SimulatedCluster.Create("m5.large");
            var cloud = new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId);
            var identity = await cloud.GetInstanceAsync(Ct);
            using (var client = RtNetlinkClient.Open(ns))
            {
                // The primary "ENI": a link with the instance's primary MAC.
                client.CreateLink(new VethCreateRequest("peer0", "eth0") { PeerHardwareAddress = PhysicalAddress.Parse(identity.PrimaryMacAddress.Replace(':', '-')) });
            }

            using var host = new HostNetworkDatapath(ns);
            using var pods = new PodHostState(ns);
            var network = new LinuxNodeNetwork(new DaemonSettings(), host, new SnatReconciler(ns, backend), pods);
            var node = new NodeStartStep(cloud, network, null, NullLogger.Instance);
            await node.BeforeInitializeAsync(Ct);
            var source = new ScriptedVpcCidrSource(() => cloud.GetVpcIPv4CidrsAsync(Ct).AsTask().Result);
            var watcher = new VpcCidrWatcher(source, network, node, VpcCidrWatcher.DefaultInterval, TimeProvider.System, NullLogger.Instance);
            Nat(name).Should().Contain("-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN").And.NotContain("100.64.0.0/16");

            cluster.Vpc.AddVpcCidr(cluster.VpcInfo.VpcId, Secondary);
            (await watcher.CheckAsync(Ct)).Should().BeTrue();
            Nat(name).Should().Contain("-A AWS-SNAT-CHAIN-0 -d 100.64.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN")
                .And.Contain("-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16");
            Connmark(name, backend).Should().Contain("100.64.0.0/16");
            (await watcher.CheckAsync(Ct)).Should().BeFalse("the same list again changes nothing");

            source.Next = () => throw new CloudException(CloudErrorKind.Other, "IMDS GET failed after 10 attempts");
            (await watcher.CheckAsync(Ct)).Should().BeFalse();
            Nat(name).Should().Contain("-d 100.64.0.0/16", "a failed read never removes an exemption");

            // The block disassociated: its exemption goes, the primary block's stays.
            source.Next = () => [IPNetwork.Parse("10.0.0.0/16")];
            (await watcher.CheckAsync(Ct)).Should().BeTrue();
            Nat(name).Should().NotContain("100.64.0.0/16").And.Contain("-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16");
            Connmark(name, backend).Should().NotContain("100.64.0.0/16").And.Contain("10.0.0.0/16");
            node.Instance!.VpcCidrs.Should().Equal(IPNetwork.Parse("10.0.0.0/16"));
        }
        finally
        {
            NetworkNamespace.Delete(name);
        }
    }

    private static string Nat(string ns) => Exec(ns, "iptables-save", "-t", "nat");

    private static string Connmark(string ns, ConnmarkBackend backend) =>
        backend == ConnmarkBackend.Nftables ? Exec(ns, "nft", "list", "table", "ip", "aws-cni") : Nat(ns);

    /// <summary>Runs a command inside the scratch namespace (inspection only).</summary>
    private static string Exec(string ns, string fileName, params string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["netns", "exec", ns, fileName, .. args])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        process.WaitForExit(30_000).Should().BeTrue();
        process.ExitCode.Should().Be(0, stderr.Result);
        return stdout.Result;
    }
}
