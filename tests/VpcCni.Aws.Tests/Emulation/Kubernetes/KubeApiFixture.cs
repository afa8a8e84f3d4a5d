using System.Net;
using System.Net.Sockets;
using k8s;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Tests.Emulation.Kubernetes;

/// <summary>A simulated cluster with its Kubernetes API emulator on 127.0.0.1 and the real KubernetesClient pointed at it.</summary>
public sealed class KubeApi : IAsyncDisposable
{
    private KubeApi(SimulatedCluster cluster, KubernetesApiEmulator emulator)
    {
        Cluster = cluster;
        Emulator = emulator;
        Client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = emulator.BaseAddress.ToString().TrimEnd('/') });
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = emulator.BaseAddress };
    }

    public SimulatedCluster Cluster { get; }

    public KubernetesApiEmulator Emulator { get; }

    public k8s.Kubernetes Client { get; }

    public HttpClient Http { get; }

    public string NodeName(int index) => Emulator.NodeName(Cluster.Nodes[index]);

    public static async Task<KubeApi> StartAsync(int nodes = 2, string type = "m5.large", Action<KubernetesApiEmulatorOptions>? configure = null)
    {
        var cluster = SimulatedCluster.Create(type, nodes);
        for (var attempt = 0; ; attempt++)
        {
            var options = new KubernetesApiEmulatorOptions();
            configure?.Invoke(options);
            var emulator = new KubernetesApiEmulator(cluster.Vpc, $"http://127.0.0.1:{FreePort()}/", options);
            try
            {
                emulator.Start();
                return new KubeApi(cluster, emulator);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                await emulator.DisposeAsync();
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}
