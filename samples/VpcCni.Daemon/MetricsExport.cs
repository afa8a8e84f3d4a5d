using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Daemon;

/// <summary>
/// The /metrics endpoint: OpenTelemetry's Prometheus exporter over <see cref="IpamdMetrics"/>, set up to print what
/// upstream's aws-node prints: counters without a _total suffix, no otel_scope_* labels, no target_info series.
/// Also compiled into VpcCni.Hosting.Tests, which scrapes it in process.
/// </summary>
internal static class MetricsExport
{
    public static IServiceCollection AddDaemonMetricsExport(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(IpamdMetrics.MeterName)
            .AddView(instrument => new MetricStreamConfiguration { CardinalityLimit = IpamdMetrics.SeriesLimit(instrument.Name) })
            .AddPrometheusExporter(o =>
            {
                o.DisableTotalNameSuffixForCounters = true;
                o.ScopeInfoEnabled = false;
                o.TargetInfoEnabled = false;
            }));
        return services;
    }

    public static void MapDaemonMetrics(this WebApplication app, int port) =>
        app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{port}");
}
