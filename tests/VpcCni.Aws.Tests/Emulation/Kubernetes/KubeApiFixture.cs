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
        var options = new KubernetesApiEmulatorOptions();
        configure?.Invoke(options);

        // Port 0: Kestrel binds a free port itself, so no other process can take it between probe and bind.
        var emulator = new KubernetesApiEmulator(cluster.Vpc, "http://127.0.0.1:0/", options);
        try
        {
            emulator.Start();
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }

        return new KubeApi(cluster, emulator);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}
