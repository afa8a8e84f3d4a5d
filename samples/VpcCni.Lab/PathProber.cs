using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VpcCni.Lab;

/// <summary>
/// The paths with real UDP packets: echo services in the hosts and pods answer with the source address they saw;
/// clients send from sockets created inside the pod namespaces. An IPv4 cluster proves the five IPv4 paths (and with
/// ENABLE_V6_EGRESS the IPv6 internet through egress-cni); an IPv6 cluster proves pod ↔ pod, the AWS service and the
/// internet over IPv6 with the pod's own address, and the IPv4-only internet through egress-cni with the node's IPv4.
/// </summary>
internal sealed class PathProber(
    LabFabric fabric,
    IReadOnlyList<LabPod> pods,
    IReadOnlyList<IPAddress> nodeAddresses,
    LabFamily family = LabFamily.IPv4,
    IReadOnlyList<IPAddress?>? nodeIPv6Addresses = null) : IDisposable
{
    public const int EchoPort = 7007;
    public static readonly IPAddress ServiceHost = IPAddress.Parse("10.0.200.10");
    public static readonly IPAddress OnPremHost = IPAddress.Parse("203.0.113.10");
    public static readonly IPAddress InternetHost = IPAddress.Parse("198.51.100.10");

    /// <summary>The AWS service's IPv6 address, in a /64 of the VPC's unique-local block.</summary>
    public static readonly IPAddress ServiceHostV6 = IPAddress.Parse("fd00:ec2:0:c8::10");

    /// <summary>The IPv6 internet host, in the documentation range 2001:db8::/32.</summary>
    public static readonly IPAddress InternetHostV6 = IPAddress.Parse("2001:db8:100::10");

    /// <summary>The hosts' namespaces of a lab of <paramref name="of"/> (inet6 holds the IPv6 internet host).</summary>
    public static IReadOnlyList<string> HostNamespaces(LabFamily of) =>
        of == LabFamily.IPv4 ? ["svc", "onprem", "inet"] : ["svc", "onprem", "inet", "inet6"];

    private readonly List<Socket> _echoSockets = [];
    private readonly CancellationTokenSource _stop = new();

    public async Task<IReadOnlyList<PathResult>> RunAsync(CancellationToken cancellationToken)
    {
        StartEchoServers();
        var results = new List<PathResult>();
        var nodes = pods.Select(p => p.Node).Distinct().Order().ToList();
        foreach (var node in nodes)
        {
            var local = pods.Where(p => p.Node == node).ToList();
            if (local.Count >= 2)
            {
                results.Add(await ProbeAsync("1 pod ↔ pod, same node" + V6, local[0], local[^1].Address, Label(local[^1]), local[0].Address, cancellationToken));
                results.Add(await ProbeAsync("1 pod ↔ pod, same node" + V6, local[^1], local[0].Address, Label(local[0]), local[^1].Address, cancellationToken));
            }
        }

        if (nodes.Count >= 2)
        {
            var first = pods.Where(p => p.Node == nodes[0]).ToList();
            var second = pods.Where(p => p.Node == nodes[1]).ToList();
            var pairs = new List<(LabPod, LabPod)> { (first[0], second[0]) };
            if (first.FirstOrDefault(p => p.OnSecondaryEni) is { } a && second.FirstOrDefault(p => p.OnSecondaryEni) is { } b && (a, b) != pairs[0])
            {
                pairs.Add((a, b));
            }

            foreach (var (from, to) in pairs)
            {
                results.Add(await ProbeAsync("2 pod ↔ pod, other node" + V6 + Secondary(from, to), from, to.Address, Label(to), from.Address, cancellationToken));
                results.Add(await ProbeAsync("2 pod ↔ pod, other node" + V6 + Secondary(to, from), to, from.Address, Label(from), to.Address, cancellationToken));
            }
        }

        foreach (var pod in pods)
        {
            if (family == LabFamily.IPv6)
            {
                // No SNAT in an IPv6 cluster: the pod's /128 is seen everywhere over IPv6; IPv4 leaves through egress-cni.
                results.Add(await ProbeAsync("3 pod → AWS service, IPv6", pod, ServiceHostV6, "aws-service " + ServiceHostV6, pod.Address, cancellationToken));
                results.Add(await ProbeAsync("5 pod → internet, IPv6, own address", pod, InternetHostV6, "internet " + InternetHostV6, pod.Address, cancellationToken));
                results.Add(await ProbeAsync("6 pod → IPv4 internet, egress-cni v4if0 SNAT", pod, InternetHost, "internet " + InternetHost, nodeAddresses[pod.Node - 1], cancellationToken));
                continue;
            }

            results.Add(await ProbeAsync("3 pod → AWS service" + Secondary(pod), pod, ServiceHost, "aws-service " + ServiceHost, pod.Address, cancellationToken));
            results.Add(await ProbeAsync("4 pod → on-premises, no SNAT" + Secondary(pod), pod, OnPremHost, "on-prem " + OnPremHost, pod.Address, cancellationToken));
            results.Add(await ProbeAsync("5 pod → internet, SNAT" + Secondary(pod), pod, InternetHost, "internet " + InternetHost, nodeAddresses[pod.Node - 1], cancellationToken));
            if (family == LabFamily.IPv4WithV6Egress)
            {
                var nodeIPv6 = nodeIPv6Addresses?[pod.Node - 1] ?? throw new InvalidOperationException($"node {pod.Node} has no IPv6 address");
                results.Add(await ProbeAsync("6 pod → IPv6 internet, egress-cni v6if0 SNAT", pod, InternetHostV6, "internet " + InternetHostV6, nodeIPv6, cancellationToken));
            }
        }

        return results;
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var socket in _echoSockets)
        {
            socket.Dispose();
        }

        _stop.Dispose();
    }

    private string V6 => family == LabFamily.IPv6 ? ", IPv6" : "";

    private static string Label(LabPod pod) => $"{pod.Name} {pod.Address}";

    private static string Secondary(params LabPod[] of) => of.Any(p => p.OnSecondaryEni) ? " (secondary ENI)" : "";

    private void StartEchoServers()
    {
        foreach (var ns in HostNamespaces(family).Concat(pods.Select(p => p.Name)))
        {
            // Dual-stack labs answer both families on one socket ([::] with IPv4-mapped addresses).
            var dual = family != LabFamily.IPv4;
            var socket = fabric.Socket(ns, SocketType.Dgram, ProtocolType.Udp, dual ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            if (dual)
            {
                socket.DualMode = true;
            }

            socket.Bind(new IPEndPoint(dual ? IPAddress.IPv6Any : IPAddress.Any, EchoPort));
            _echoSockets.Add(socket);
            _ = EchoAsync(socket);
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[512];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(any, 0), _stop.Token);
                var from = (IPEndPoint)received.RemoteEndPoint;
                var seen = from.Address.IsIPv4MappedToIPv6 ? from.Address.MapToIPv4() : from.Address;
                await socket.SendToAsync(Encoding.ASCII.GetBytes("seen " + seen), from, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task<PathResult> ProbeAsync(string path, LabPod from, IPAddress to, string toLabel, IPAddress expected, CancellationToken cancellationToken)
    {
        using var socket = fabric.Socket(from.Name, SocketType.Dgram, ProtocolType.Udp, to.AddressFamily);
        var any = to.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        socket.Bind(new IPEndPoint(any, 0));
        var buffer = new byte[512];
        var seen = "no answer";
        for (var attempt = 0; attempt < 5 && seen == "no answer"; attempt++)
        {
            await socket.SendToAsync(Encoding.ASCII.GetBytes("who am i"), new IPEndPoint(to, EchoPort), cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(any, 0), timeout.Token);
                var text = Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes);
                seen = text.StartsWith("seen ", StringComparison.Ordinal) ? text[5..] : text;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }

        return new PathResult(path, Label(from), toLabel, expected.ToString(), seen, seen == expected.ToString());
    }
}
