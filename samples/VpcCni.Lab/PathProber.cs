using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VpcCni.Lab;

/// <summary>
/// The five paths with real UDP packets: echo services in the hosts and pods answer with the source address they
/// saw; clients send from sockets created inside the pod namespaces.
/// </summary>
internal sealed class PathProber(LabFabric fabric, IReadOnlyList<LabPod> pods, IReadOnlyList<IPAddress> nodeAddresses) : IDisposable
{
    public const int EchoPort = 7007;
    public static readonly IPAddress ServiceHost = IPAddress.Parse("10.0.200.10");
    public static readonly IPAddress OnPremHost = IPAddress.Parse("203.0.113.10");
    public static readonly IPAddress InternetHost = IPAddress.Parse("198.51.100.10");

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
                results.Add(await ProbeAsync("1 pod ↔ pod, same node", local[0], local[^1].Address, Label(local[^1]), local[0].Address, cancellationToken));
                results.Add(await ProbeAsync("1 pod ↔ pod, same node", local[^1], local[0].Address, Label(local[0]), local[^1].Address, cancellationToken));
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
                results.Add(await ProbeAsync("2 pod ↔ pod, other node" + Secondary(from, to), from, to.Address, Label(to), from.Address, cancellationToken));
                results.Add(await ProbeAsync("2 pod ↔ pod, other node" + Secondary(to, from), to, from.Address, Label(from), to.Address, cancellationToken));
            }
        }

        foreach (var pod in pods)
        {
            results.Add(await ProbeAsync("3 pod → AWS service" + Secondary(pod), pod, ServiceHost, "aws-service " + ServiceHost, pod.Address, cancellationToken));
            results.Add(await ProbeAsync("4 pod → on-premises, no SNAT" + Secondary(pod), pod, OnPremHost, "on-prem " + OnPremHost, pod.Address, cancellationToken));
            results.Add(await ProbeAsync("5 pod → internet, SNAT" + Secondary(pod), pod, InternetHost, "internet " + InternetHost, nodeAddresses[pod.Node - 1], cancellationToken));
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

    private static string Label(LabPod pod) => $"{pod.Name} {pod.Address}";

    private static string Secondary(params LabPod[] of) => of.Any(p => p.OnSecondaryEni) ? " (secondary ENI)" : "";

    private void StartEchoServers()
    {
        foreach (var ns in new[] { "svc", "onprem", "inet" }.Concat(pods.Select(p => p.Name)))
        {
            var socket = fabric.Socket(ns, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Any, EchoPort));
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
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                var from = (IPEndPoint)received.RemoteEndPoint;
                await socket.SendToAsync(Encoding.ASCII.GetBytes("seen " + from.Address), from, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task<PathResult> ProbeAsync(string path, LabPod from, IPAddress to, string toLabel, IPAddress expected, CancellationToken cancellationToken)
    {
        using var socket = fabric.Socket(from.Name, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        var buffer = new byte[512];
        var seen = "no answer";
        for (var attempt = 0; attempt < 5 && seen == "no answer"; attempt++)
        {
            await socket.SendToAsync(Encoding.ASCII.GetBytes("who am i"), new IPEndPoint(to, EchoPort), cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
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
