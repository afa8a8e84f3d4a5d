using Amazon;
using Amazon.EC2;
using Amazon.Runtime;

namespace VpcCni.Aws.Ec2;

/// <summary>Builds an <see cref="AmazonEC2Client"/> configured for this provider.</summary>
internal static class Ec2ClientFactory
{
    /// <summary>An EC2 client with the SDK's retries off (Polly retries instead, so attempts never multiply),
    /// the endpoint of <see cref="Ec2ProviderOptions.Ec2Endpoint"/> when set, and the given region.</summary>
    public static AmazonEC2Client Create(Ec2ProviderOptions options, string region, AWSCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(region);
        var config = new AmazonEC2Config
        {
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (options.Ec2Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.AbsoluteUri;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return credentials is null ? new AmazonEC2Client(config) : new AmazonEC2Client(credentials, config);
    }
}
