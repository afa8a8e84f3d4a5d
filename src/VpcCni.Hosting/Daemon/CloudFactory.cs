using Microsoft.Extensions.Logging;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Imds;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Hosting.Daemon;

/// <summary>Builds the cloud port the daemon drives.</summary>
public static class CloudFactory
{
    /// <summary>
    /// AWS: IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254) for identity and region, EC2 through AWSSDK.EC2
    /// (AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, credentials from the SDK's default chain). Simulated: an in-process VPC
    /// with one instance of <see cref="DaemonSettings.SimulatedInstanceType"/>.
    /// </summary>
    public static async Task<(IEniProvider Provider, IAsyncDisposable Resources)> CreateAsync(
        DaemonSettings settings, Func<string, string?> environment, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (settings.Cloud == CloudKind.Simulated)
        {
            var cluster = SimulatedCluster.Create(settings.SimulatedInstanceType, timeProvider: time);
            return (new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId), new Disposables());
        }

        var imdsOptions = ImdsOptions.FromEnvironment(environment);
        var providerOptions = Ec2ProviderOptions.FromEnvironment(environment);
        providerOptions.Validate();
        var http = new HttpClient { Timeout = imdsOptions.RequestTimeout };
        var imds = new ImdsClient(http, imdsOptions, time, loggerFactory.CreateLogger<ImdsClient>());
        var region = providerOptions.Region ?? await imds.GetRegionAsync(cancellationToken).ConfigureAwait(false);
        var ec2 = Ec2ClientFactory.Create(providerOptions, region);
        var provider = new Ec2EniProvider(ec2, imds, providerOptions, time, loggerFactory.CreateLogger<Ec2EniProvider>());
        return (provider, new Disposables(provider, ec2, http));
    }

    private sealed class Disposables(params IDisposable[] items) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}
