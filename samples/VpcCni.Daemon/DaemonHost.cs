using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using VpcCni.Hosting;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Node;

namespace VpcCni.Daemon;

/// <summary>The ASP.NET Core side of the daemon: listeners, gRPC services, introspection and metrics endpoints.</summary>
internal static class DaemonHost
{
    public static async Task<int> RunAsync(DaemonSettings settings, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // AWS_VPC_K8S_CNI_LOG_FILE: stdout, stderr or a file (upstream's default path); a file that cannot be opened stops the start.
        switch (settings.LogFile)
        {
            case "stdout":
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                break;
            case "stderr":
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                break;
            default:
                builder.Logging.AddProvider(FileLoggerProvider.Open(settings.LogFile, TimeProvider.System));
                break;
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        PrepareSocket(settings.SocketPath);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenUnixSocket(settings.SocketPath, o => o.Protocols = HttpProtocols.Http2);
            if (settings.GrpcTcpEndpoint is { } tcp)
            {
                kestrel.Listen(tcp, o => o.Protocols = HttpProtocols.Http2);
            }

            if (settings.IntrospectionEndpoint is { } introspection)
            {
                kestrel.Listen(introspection, o => o.Protocols = HttpProtocols.Http1);
            }

            if (settings.MetricsEndpoint is { } metrics)
            {
                kestrel.Listen(metrics, o => o.Protocols = HttpProtocols.Http1);
            }
        });

        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 * 1024);
        var health = new HealthServiceImpl();
        builder.Services.AddSingleton(health);
        // The node, its cloud (--cloud), host datapath and metrics: the container builds them and disposes them with the app.
        builder.Services.AddVpcCniDaemon(settings);
        builder.Services.AddDaemonMetricsExport();

        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("vpc-cni-ipamd");
        // Resolved before the server starts, so a bad cloud setting stops the daemon here, naming the variable.
        var node = app.Services.GetRequiredService<IpamdNode>();

        app.MapGrpcService<CniBackendService>();
        app.MapGrpcService<PluginBackendService>();
        app.MapGrpcService<ConfigServerBackendService>();
        app.MapGrpcService<HealthServiceImpl>();
        if (settings.IntrospectionEndpoint is { } introspectionEndpoint)
        {
            app.MapGet("/{**path}", async (HttpContext context) =>
            {
                var (status, body) = Introspection.Handle(context.Request.Path.Value ?? "/", node, settings);
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(body);
            }).RequireHost($"*:{introspectionEndpoint.Port}");
        }

        if (settings.MetricsEndpoint is { } metricsEndpoint)
        {
            app.MapDaemonMetrics(metricsEndpoint.Port);
        }

        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
        health.SetStatus("grpc.health.v1.aws-node", HealthCheckResponse.Types.ServingStatus.NotServing);
        await app.StartAsync(cancellationToken);
        File.SetUnixFileMode(settings.SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);

        try
        {
            await node.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var message = ex.Message;
            logger.LogCritical(ex, "node initialisation failed: {Message}", message);
            await app.StopAsync(CancellationToken.None);
            return 1;
        }

        // Start-up allocates ~12 MB, most of it garbage once the node is ready, and an idle daemon allocates too little
        // to trigger a GC that would give it back: collect and decommit it once, before reporting SERVING.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        health.SetStatus("grpc.health.v1.aws-node", HealthCheckResponse.Types.ServingStatus.Serving);
        if (settings.CniConfDirectory is { } confDir)
        {
            var options = PluginInstallOptions.FromEnvironment(Environment.GetEnvironmentVariable) with { IpamdAddress = settings.SocketPath };
            // The egress entry's nodeIP: the node's IPv4 is the one the daemon started with; its IPv6 comes from IMDS.
            options = await NodeInstaller.ResolveEgressNodeIPAsync(
                options,
                _ => Task.FromResult(node.Instance!.PrimaryIPv4),
                ct => VpcCni.Aws.Imds.ImdsNodeAddresses.GetIPv6Async(Environment.GetEnvironmentVariable, ct),
                Console.Error,
                cancellationToken);
            var written = NodeInstaller.WriteConflist(options, confDir);
            logger.LogInformation("wrote {Path}", written);
        }

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = cancellationToken.Register(() => stopped.TrySetResult());
        using var appStopping = app.Lifetime.ApplicationStopping.Register(() => stopped.TrySetResult());
        await stopped.Task;

        // Graceful: stop growing and compact the record while gRPC still serves DELs, then stop the server.
        await node.StopAsync(CancellationToken.None);
        await app.StopAsync(CancellationToken.None);
        TryDelete(settings.SocketPath);
        return 0;
    }

    private static void PrepareSocket(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        TryDelete(path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
