using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using VpcCni.Linux.Egress;
using VpcCni.Linux.Namespaces;
using VpcCni.Linux.Netlink;
using VpcCni.Linux.Tests.Support;

namespace VpcCni.Linux.Tests.Egress;

/// <summary>
/// The published egress-cni (artifacts/lab-bin/egress-cni, scripts/test.sh publishes it) chained after Debian's ptp +
/// host-local and driven through libcni (our cnidriver) in namespaces of its own: a node, a pod and an "internet" peer
/// on 203.0.113.0/24 and 2001:db8::/64. A real datagram from the pod must reach the peer from the node's address.
/// </summary>
public sealed class EgressPluginLibcniTests : IDisposable
{
    private const string NodeV4 = "203.0.113.1", PeerV4 = "203.0.113.2", NodeV6 = "2001:db8::1", PeerV6 = "2001:db8::2";

    private readonly TestNamespace _node;
    private readonly TestNamespace _pod;
    private readonly TestNamespace _peer;
    private readonly DirectoryInfo _work;
    private readonly string _containerId = $"egress{Environment.ProcessId}";

    public EgressPluginLibcniTests()
    {
        Privileged.Require();
        _work = Directory.CreateTempSubdirectory("vpccni-egress-");
        _node = new TestNamespace("egn");
        _pod = new TestNamespace("egp");
        _peer = new TestNamespace("egi");
        try
        {
            _node.Client.CreateLink(new VethCreateRequest("up0", "dn0") { PeerNamespace = _peer.Handle });
            Wire(_node, "up0", NodeV4, NodeV6);
            Wire(_peer, "dn0", PeerV4, PeerV6);
            // What the node's init does for IPv6 egress (upstream sets net/ipv6/conf/all/forwarding there, not in the plugin).
            _node.Exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");

            var plugins = Directory.CreateDirectory(Path.Combine(_work.FullName, "bin"));
            File.CreateSymbolicLink(Path.Combine(plugins.FullName, "ptp"), "/usr/lib/cni/ptp");
            File.CreateSymbolicLink(Path.Combine(plugins.FullName, "host-local"), "/usr/lib/cni/host-local");
            File.CreateSymbolicLink(Path.Combine(plugins.FullName, "egress-cni"), Artifacts.EgressPlugin);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private string PluginDirectory => Path.Combine(_work.FullName, "bin");

    private string EgressState => Path.Combine(_work.FullName, "egress-ipam");

    private static void Wire(TestNamespace ns, string link, string v4, string v6)
    {
        var index = ns.Client.FindLinkByName(link)!.Index;
        ns.Client.AddAddress(new InterfaceAddress(index, IPAddress.Parse(v4), 24));
        ns.Client.AddAddress(new InterfaceAddress(index, IPAddress.Parse(v6), 64) { Flags = 0x02 }); // NODAD
        ns.Client.SetLinkUp(index);
    }

    /// <summary>ptp + host-local give the pod its main address; egress-cni adds the other family.</summary>
    private string WriteConflist(bool ipv4Egress, string? nodeIP = null)
    {
        var podSubnet = ipv4Egress ? "fd01:10::/64" : "10.254.7.0/24";
        var egressSubnet = ipv4Egress ? "169.254.172.0/22" : "fd00::ac:00/118";
        var egressDst = ipv4Egress ? "0.0.0.0/0" : "::/0";
        var path = Path.Combine(_work.FullName, "egress.conflist");
        File.WriteAllText(path, $$"""
            {"cniVersion":"1.0.0","name":"egresstest","plugins":[
              {"type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"{{podSubnet}}","dataDir":"{{_work.FullName}}/pod-ipam"} },
              {"type":"egress-cni","mtu":"1500","enabled":"true","randomizeSNAT":"prng","nodeIP":"{{nodeIP ?? (ipv4Egress ? NodeV4 : NodeV6)}}",
               "ipam":{"type":"host-local","ranges":[[{"subnet":"{{egressSubnet}}"}]],"routes":[{"dst":"{{egressDst}}"}],"dataDir":"{{EgressState}}"} }
            ]}
            """);
        return path;
    }

    private async Task<JsonNode> CniAsync(string verb, string conflist)
    {
        var (_, stdout, stderr) = await RunAsync("ip",
        [
            "netns", "exec", _node.Name, Artifacts.CniDriver, verb, "-conflist", conflist, "-plugin-dir", PluginDirectory,
            "-cache-dir", Path.Combine(_work.FullName, "cache"), "-container-id", _containerId, "-ifname", "eth0", "-netns", _pod.Path,
        ]);
        return JsonNode.Parse(stdout) ?? throw new InvalidOperationException($"cnidriver printed nothing: {stderr}");
    }

    /// <summary>Addresses host-local holds in the egress state directory (one file per address).</summary>
    private string[] EgressAllocations() =>
        Directory.Exists(EgressState)
            ? [.. Directory.EnumerateFiles(EgressState, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Where(f => IPAddress.TryParse(f, out _)).Select(f => f!)]
            : [];

    [Fact]
    public async Task AddCheckDel_IPv4Egress_PodReachesPeerFromNodeAddressAndDelLeavesNothing()
    {
        var conflist = WriteConflist(ipv4Egress: true);

        var add = await CniAsync("add", conflist);

        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        var interfaces = add["result"]!["interfaces"]!.AsArray();
        interfaces.Select(i => i!["name"]!.GetValue<string>()).Should().Contain(EgressDatapath.IPv4InterfaceName);
        interfaces.Single(i => i!["name"]!.GetValue<string>() == "v4if0")!["sandbox"]!.GetValue<string>().Should().Be(_pod.Path);
        add["result"]!["ips"]!.AsArray().Should().OnlyContain(ip => ip!["address"]!.GetValue<string>().StartsWith("fd01:10::", StringComparison.Ordinal), "egress-cni adds no IPs");
        EgressAllocations().Should().ContainSingle().Which.Should().StartWith("169.254.172.");
        _pod.Exec("ip", "-4", "route", "show").Should().Contain("default via 169.254.172.1 dev v4if0");
        var chain = EgressDatapath.ChainName("egresstest", _containerId, ipv6Egress: false);
        _node.Exec("iptables", "-t", "nat", "-S", chain).Should().Contain("-j SNAT --to-source 203.0.113.1 --random-fully");

        (await SendFromPodAsync(AddressFamily.InterNetwork, PeerV4)).Should().Be(IPAddress.Parse(NodeV4), "the packet leaves SNATed to the node's IPv4");

        var check = await CniAsync("check", conflist);
        check["ok"]!.GetValue<bool>().Should().BeTrue(check.ToJsonString());

        await DeleteAndExpectNothingLeftAsync(conflist, "iptables", "CNI-E4-");
    }

    [Fact]
    public async Task AddCheckDel_IPv6Egress_PodReachesPeerFromNodeAddressAndDelLeavesNothing()
    {
        var conflist = WriteConflist(ipv4Egress: false);

        var add = await CniAsync("add", conflist);

        add["ok"]!.GetValue<bool>().Should().BeTrue(add.ToJsonString());
        add["result"]!["interfaces"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).Should().Contain(EgressDatapath.IPv6InterfaceName);
        EgressAllocations().Should().ContainSingle().Which.Should().StartWith("fd00::ac:");
        _pod.Exec("sysctl", "-n", "net.ipv6.conf.eth0.disable_ipv6").Trim().Should().Be("1");
        _pod.Exec("ip", "-6", "route", "show").Should().MatchRegex("default via fe80::[0-9a-f:]+ dev v6if0");
        var chain = EgressDatapath.ChainName("egresstest", _containerId, ipv6Egress: true);
        _node.Exec("ip6tables", "-t", "nat", "-S", chain).Should().Contain("-j SNAT --to-source 2001:db8::1 --random-fully");

        (await SendFromPodAsync(AddressFamily.InterNetworkV6, PeerV6)).Should().Be(IPAddress.Parse(NodeV6), "the packet leaves SNATed to the node's IPv6");

        var check = await CniAsync("check", conflist);
        check["ok"]!.GetValue<bool>().Should().BeTrue(check.ToJsonString());

        await DeleteAndExpectNothingLeftAsync(conflist, "ip6tables", "CNI-E6-");
    }

    [Fact]
    public async Task Check_ChainRemovedBehindThePluginsBack_Fails()
    {
        var conflist = WriteConflist(ipv4Egress: true);
        (await CniAsync("add", conflist))["ok"]!.GetValue<bool>().Should().BeTrue();
        var chain = EgressDatapath.ChainName("egresstest", _containerId, ipv6Egress: false);
        _node.Exec("iptables", "-t", "nat", "-F", chain);

        var check = await CniAsync("check", conflist);

        check["ok"]!.GetValue<bool>().Should().BeFalse();
        check["error"]!.ToJsonString().Should().Contain("SNAT");
        (await CniAsync("del", conflist))["ok"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task Add_EgressInterfaceAlreadyInPod_FailsAndReleasesTheAddress()
    {
        var conflist = WriteConflist(ipv4Egress: true);
        // A veth pair inside the pod (this kernel may lack the dummy driver) takes the name first.
        _pod.Client.CreateLink(new VethCreateRequest(EgressDatapath.IPv4InterfaceName, "other0"));
        var squatter = _pod.Client.FindLinkByName(EgressDatapath.IPv4InterfaceName)!.Index;
        var nodeLinksBefore = _node.Client.GetLinks().Select(l => l.Name).ToList();

        var add = await CniAsync("add", conflist);

        add["ok"]!.GetValue<bool>().Should().BeFalse();
        add["error"]!.ToJsonString().Should().Contain("already exists");
        EgressAllocations().Should().BeEmpty("a failed ADD gives its IPAM address back");
        _node.Exec("iptables", "-t", "nat", "-S").Should().NotContain("CNI-E4-");
        // ptp's host veth is the only new link on the node: egress-cni left none of its own.
        _node.Client.GetLinks().Select(l => l.Name).Except(nodeLinksBefore).Should().HaveCountLessThanOrEqualTo(1);
        _pod.Client.FindLinkByName(EgressDatapath.IPv4InterfaceName)!.Index.Should().Be(squatter, "the pre-existing link is not ours to remove");

        (await CniAsync("del", conflist))["ok"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task Add_InvalidNodeIP_FailsWithInvalidNetworkConfigAndAllocatesNothing()
    {
        var conflist = WriteConflist(ipv4Egress: false, nodeIP: "fe80::1");

        var add = await CniAsync("add", conflist);

        add["ok"]!.GetValue<bool>().Should().BeFalse();
        add["error"]!["code"]!.GetValue<int>().Should().Be(7, add.ToJsonString());
        EgressAllocations().Should().BeEmpty();
        (await CniAsync("del", conflist))["ok"]!.GetValue<bool>().Should().BeTrue();
    }

    private async Task DeleteAndExpectNothingLeftAsync(string conflist, string iptables, string chainPrefix)
    {
        var del = await CniAsync("del", conflist);

        del["ok"]!.GetValue<bool>().Should().BeTrue(del.ToJsonString());
        _node.Exec(iptables, "-t", "nat", "-S").Should().NotContain(chainPrefix);
        _pod.Client.FindLinkByName(EgressDatapath.IPv4InterfaceName).Should().BeNull();
        _pod.Client.FindLinkByName(EgressDatapath.IPv6InterfaceName).Should().BeNull();
        _node.Client.GetLinks().Where(l => l.Kind == "veth" && l.Name != "up0").Should().BeEmpty("ptp's and egress-cni's host veths are gone");
        EgressAllocations().Should().BeEmpty("host-local released the egress address");

        var again = await CniAsync("del", conflist);
        again["ok"]!.GetValue<bool>().Should().BeTrue("DEL is idempotent: " + again.ToJsonString());
    }

    /// <summary>Sends one UDP datagram from a socket made in the pod to a socket made in the peer; returns the source the peer saw.</summary>
    private async Task<IPAddress> SendFromPodAsync(AddressFamily family, string peer)
    {
        var any = family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
        // A socket belongs to the namespace of the thread that creates it.
        using var listener = NetworkNamespaceExecutor.Shared.Invoke(_peer.Handle, static a => NewUdp(a), any);
        using var sender = NetworkNamespaceExecutor.Shared.Invoke(_pod.Handle, static a => NewUdp(a), any);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var buffer = new byte[64];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        var receive = listener.ReceiveFromAsync(buffer, new IPEndPoint(any, 0), timeout.Token).AsTask();
        // Resent until it arrives: the first datagram may wait for neighbour discovery (IPv6 DAD on the host end).
        while (!receive.IsCompleted)
        {
            await sender.SendToAsync("egress"u8.ToArray(), new IPEndPoint(IPAddress.Parse(peer), port), timeout.Token);
            await Task.WhenAny(receive, Task.Delay(200, timeout.Token));
        }

        var result = await receive;
        return ((IPEndPoint)result.RemoteEndPoint).Address;
    }

    private static Socket NewUdp(IPAddress any)
    {
        var socket = new Socket(any.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(any, 0));
        return socket;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    public void Dispose()
    {
        // Namespaces first (their veths go with them), then the IPAM state and cache.
        _pod?.Dispose();
        _peer?.Dispose();
        _node?.Dispose();
        _work.Delete(recursive: true);
    }
}

/// <summary>What scripts/test.sh builds before the tests: the published plugin and the libcni driver.</summary>
internal static class Artifacts
{
    private static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>samples/VpcCni.EgressPlugin published (Native AOT) into artifacts/lab-bin.</summary>
    public static string EgressPlugin => Require(Path.Combine(RepoRoot, "artifacts", "lab-bin", "egress-cni"), "dotnet publish samples/VpcCni.EgressPlugin -c Release -o artifacts/lab-bin");

    /// <summary>Our libcni driver (tools/cnidriver/build.sh); VPCCNI_CNIDRIVER names another one.</summary>
    public static string CniDriver => Require(
        Environment.GetEnvironmentVariable("VPCCNI_CNIDRIVER") is { Length: > 0 } overridden ? overridden : Path.Combine(RepoRoot, "artifacts", "tools", "cnidriver"),
        "bash tools/cnidriver/build.sh");

    private static string Require(string path, string how) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} not found: {how} (scripts/test.sh does it before the tests)");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("VpcCni.sln not found");
    }
}
