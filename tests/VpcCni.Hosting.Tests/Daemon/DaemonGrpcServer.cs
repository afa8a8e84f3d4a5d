using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;
using VpcCni.Hosting.Daemon;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Daemon;

/// <summary>
/// A real in-process daemon: an <see cref="IpamdNode"/> on the simulated cloud behind Kestrel's gRPC server on a Unix
/// socket, with the same services as the executable. The cloud's growth can be held (<see cref="GatedEniProvider"/>).
/// </summary>
internal sealed class DaemonGrpcServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly WebApplication _app;

    private DaemonGrpcServer(string directory, WebApplication app, IpamdNode node, GatedEniProvider cloud)
    {
        _directory = directory;
        _app = app;
        Node = node;
        Cloud = cloud;
    }

    public IpamdNode Node { get; }

    public GatedEniProvider Cloud { get; }

    public string SocketPath => Path.Combine(_directory, "ipamd.sock");

    public static Task<DaemonGrpcServer> StartAsync(Action<IpamOptions>? configure = null, CancellationToken cancellationToken = default) =>
        StartAsync(configure, networkPolicyMode: "", cancellationToken);

    /// <param name="configure">Changes to the IPAM options.</param>
    /// <param name="networkPolicyMode">The daemon's NETWORK_POLICY_ENFORCING_MODE ("" for unset).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<DaemonGrpcServer> StartAsync(Action<IpamOptions>? configure, string networkPolicyMode, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("vpccni-daemon-").FullName;
        var ipam = new IpamOptions();
        configure?.Invoke(ipam);
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(directory, "ipam.json"),
            Ipam = ipam,
            NetworkPolicyMode = networkPolicyMode,
        };
        var cluster = SimulatedCluster.Create("m5.large");
        var cloud = new GatedEniProvider(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId));
        var node = DaemonNodes.Create(cloud, settings, new NoNodeNetwork(), TimeProvider.System);
        await node.StartAsync(cancellationToken);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Path.Combine(directory, "ipamd.sock"), o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 * 1024);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(new Grpc.HealthCheck.HealthServiceImpl());
        var app = builder.Build();
        app.MapGrpcService<CniBackendService>();
        app.MapGrpcService<PluginBackendService>();
        app.MapGrpcService<ConfigServerBackendService>();
        app.MapGrpcService<Grpc.HealthCheck.HealthServiceImpl>();
        await app.StartAsync(cancellationToken);
        return new DaemonGrpcServer(directory, app, node, cloud);
    }

    public async ValueTask DisposeAsync()
    {
        Cloud.Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Node.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>A cloud whose growth calls (create, assign) wait, while <see cref="Hold"/> is on, until released or cancelled.</summary>
internal sealed class GatedEniProvider(IEniProvider inner) : IEniProvider, IIPv6PrefixProvider
{
    // IPv6 calls pass straight through (no growth to gate in IPv6 mode).
    private IIPv6PrefixProvider IPv6 => inner as IIPv6PrefixProvider ?? throw new NotSupportedException("the inner cloud has no IPv6 calls");

    public ValueTask<IReadOnlyList<IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken) => IPv6.EnsureIPv6PrefixAsync(eniId, cancellationToken);

    public ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken) => IPv6.GetIPv6PrefixesAsync(eniId, cancellationToken);

    public ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken) => IPv6.GetVpcIPv6CidrsAsync(cancellationToken);

    private volatile TaskCompletionSource _gate = Open();

    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => inner.GetInstanceAsync(cancellationToken);

    public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) => inner.GetInstanceLimitsAsync(instanceType, cancellationToken);

    public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) => inner.DescribeInstanceEnisAsync(cancellationToken);

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken)
    {
        await _gate.Task.WaitAsync(cancellationToken);
        return await inner.CreateAndAttachEniAsync(request, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken)
    {
        await _gate.Task.WaitAsync(cancellationToken);
        return await inner.AssignAsync(eniId, unit, count, cancellationToken);
    }

    public ValueTask UnassignAsync(string eniId, IReadOnlyList<IPNetwork> cidrs, CancellationToken cancellationToken) => inner.UnassignAsync(eniId, cidrs, cancellationToken);

    public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) => inner.DetachAndDeleteEniAsync(eniId, cancellationToken);

    public ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) => inner.EnsureEniTagsAsync(eni, cancellationToken);

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
