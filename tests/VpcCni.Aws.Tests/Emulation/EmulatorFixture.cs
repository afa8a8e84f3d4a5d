using Amazon.EC2;
using Amazon.Runtime;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Imds;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>A simulated VPC served on 127.0.0.1 with the real AmazonEC2Client and IMDS client pointed at it.</summary>
public sealed class EmulatedCloud : IAsyncDisposable
{
    static EmulatedCloud()
    {
        // Keep the SDK's credential chain and region lookup away from the real 169.254.169.254.
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    private EmulatedCloud(SimulatedCluster cluster, CloudEmulatorServer server, Uri endpoint)
    {
        Cluster = cluster;
        Server = server;
        Endpoint = endpoint;
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
    }

    public SimulatedCluster Cluster { get; }
    public SimulatedVpc Vpc => Cluster.Vpc;
    public CloudEmulatorServer Server { get; }
    public Uri Endpoint { get; }
    public HttpClient Http { get; }

    public static async Task<EmulatedCloud> StartAsync(
        string type = "m5.large", int nodes = 1, int subnetPrefix = 20, Action<SimulatedVpcOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new SimulatedVpcOptions();
        configure?.Invoke(options);
        var cluster = SimulatedCluster.Create(type, nodes, subnetPrefix, options, time);
        // Port 0: Kestrel binds a free port itself, so no other process can take it between probe and bind.
        var server = new CloudEmulatorServer(cluster.Vpc, "http://127.0.0.1:0/");
        try
        {
            server.Start();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return new EmulatedCloud(cluster, server, server.BaseAddress);
    }

    public AmazonEC2Client CreateEc2Client() =>
        Ec2ClientFactory.Create(new Ec2ProviderOptions { Ec2Endpoint = Endpoint }, "us-west-2", new BasicAWSCredentials("AKIDTEST", "secret"));

    internal ImdsClient CreateImds(int node = 0, TimeProvider? time = null) =>
        new(Http, new ImdsOptions { Endpoint = new Uri(Endpoint, $"node/{node}/"), RetryDelay = TimeSpan.FromMilliseconds(10), MaxAttempts = 3 }, time);

    internal Ec2EniProvider CreateProvider(AmazonEC2Client ec2, int node = 0, Action<Ec2ProviderOptions>? configure = null)
    {
        var options = new Ec2ProviderOptions
        {
            Ec2Endpoint = Endpoint,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            RetryMaxDelay = TimeSpan.FromMilliseconds(50),
            DeleteRetryDelay = TimeSpan.FromMilliseconds(20),
        };
        configure?.Invoke(options);
        return new Ec2EniProvider(ec2, CreateImds(node), options);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
