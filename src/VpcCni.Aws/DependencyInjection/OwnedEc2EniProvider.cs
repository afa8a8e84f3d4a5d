using Amazon.EC2;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Imds;
using VpcCni.Cloud;
using VpcCni.Configuration;

namespace VpcCni.Aws;

/// <summary>
/// The EC2 ENI provider together with the clients it runs on (IMDS over its own HttpClient, the EC2 client), so that
/// whoever builds it (the container) disposes all of them as one. Without a configured region the EC2 side is built
/// on first use, once IMDS has named the region: that lookup is asynchronous and cancellable, so it belongs to node
/// start rather than to service resolution.
/// </summary>
internal sealed class OwnedEc2EniProvider : IEniProvider, IInstanceEniMetadata, ISubnetPrefixCapacitySource, IVpcCidrSource, IIPv6PrefixProvider, IDisposable
{
    private readonly Ec2ProviderOptions _options;
    private readonly ICloudRequestPriority? _priority;
    private readonly IFleetMembership? _membership;
    private readonly AWSCredentials? _credentials;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly HttpClient _http;
    private readonly ImdsClient _imds;
    private readonly SemaphoreSlim _building = new(1, 1);
    private AmazonEC2Client? _ec2;
    private Ec2EniProvider? _provider;
    private int _disposed;

    /// <inheritdoc />
    public IReadOnlyList<SubnetPrefixCapacity> GetSubnetPrefixCapacity() => Volatile.Read(ref _provider)?.GetSubnetPrefixCapacity() ?? [];

    public OwnedEc2EniProvider(Ec2ProviderOptions options, ImdsOptions imdsOptions, AWSCredentials? credentials, TimeProvider time, ILoggerFactory loggers, ICloudRequestPriority? priority = null, IFleetMembership? membership = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(imdsOptions);
        _options = options;
        _priority = priority;
        _membership = membership;
        _credentials = credentials;
        _time = time;
        _loggers = loggers;
        // IMDS is link-local: a proxy from the environment must never carry its requests.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = imdsOptions.RequestTimeout };
        try
        {
            _imds = new ImdsClient(_http, imdsOptions, time, loggers.CreateLogger<ImdsClient>());
        }
        catch
        {
            _http.Dispose();
            throw;
        }

        if (options.Region is { } region)
        {
            try
            {
                Build(region);
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <summary>The EC2 provider once built (at construction with a region, else after the first call).</summary>
    internal Ec2EniProvider? Inner => Volatile.Read(ref _provider);

    public async ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).GetInstanceAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<System.Net.IPNetwork>> GetVpcIPv4CidrsAsync(CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).GetVpcIPv4CidrsAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<System.Net.IPNetwork>> EnsureIPv6PrefixAsync(string eniId, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).EnsureIPv6PrefixAsync(eniId, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<System.Net.IPNetwork>> GetIPv6PrefixesAsync(string eniId, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).GetIPv6PrefixesAsync(eniId, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<System.Net.IPNetwork>> GetVpcIPv6CidrsAsync(CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).GetVpcIPv6CidrsAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).GetInstanceLimitsAsync(instanceType, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).DescribeInstanceEnisAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<NetworkInterface>?> ReadAttachedEnisAsync(CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).ReadAttachedEnisAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).CreateAndAttachEniAsync(request, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<System.Net.IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).AssignAsync(eniId, unit, count, cancellationToken).ConfigureAwait(false);

    public async ValueTask UnassignAsync(string eniId, IReadOnlyList<System.Net.IPNetwork> cidrs, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).UnassignAsync(eniId, cidrs, cancellationToken).ConfigureAwait(false);

    public async ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).DetachAndDeleteEniAsync(eniId, cancellationToken).ConfigureAwait(false);

    public async ValueTask EnsureEniTagsAsync(NetworkInterface eni, CancellationToken cancellationToken) =>
        await (await ProviderAsync(cancellationToken).ConfigureAwait(false)).EnsureEniTagsAsync(eni, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Deletes this instance's own leftover ENIs (<see cref="LeakedEniSweeper.SweepOwnAsync"/>); the node calls it at
    /// start, before its pool can create ENIs. Returns the ENIs deleted; none when DISABLE_LEAKED_ENI_CLEANUP is set.
    /// </summary>
    internal async Task<IReadOnlyList<string>> SweepOwnLeftoversAsync(CancellationToken cancellationToken)
    {
        var provider = await ProviderAsync(cancellationToken).ConfigureAwait(false);
        if (!_options.LeakedEniCleanup || _ec2 is not { } ec2)
        {
            return [];
        }

        var sweeper = new LeakedEniSweeper(ec2, provider, _options, _time, _loggers.CreateLogger<LeakedEniSweeper>());
        return (await sweeper.SweepOwnAsync(cancellationToken).ConfigureAwait(false)).Deleted;
    }

    /// <summary>
    /// Starts upstream's hourly leaked-ENI sweep (<see cref="LeakedEniSweepLoop"/>) until <paramref name="stopping"/>;
    /// null when DISABLE_LEAKED_ENI_CLEANUP is set or the EC2 side is not built yet (the node starts it after init).
    /// </summary>
    internal Task? StartLeakedEniSweep(CancellationToken stopping)
    {
        if (!_options.LeakedEniCleanup || Volatile.Read(ref _provider) is not { } provider || _ec2 is not { } ec2)
        {
            return null;
        }

        var sweeper = new LeakedEniSweeper(ec2, provider, _options, _time, _loggers.CreateLogger<LeakedEniSweeper>());
        var loop = new LeakedEniSweepLoop(sweeper, _options, _time, _loggers.CreateLogger<LeakedEniSweepLoop>());
        return Task.Run(() => loop.RunAsync(stopping), CancellationToken.None);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _provider?.Dispose();
        _ec2?.Dispose();
        _imds.Dispose();
        _http.Dispose();
        _building.Dispose();
    }

    private ValueTask<Ec2EniProvider> ProviderAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return Volatile.Read(ref _provider) is { } built ? ValueTask.FromResult(built) : BuildFromImdsAsync(cancellationToken);
    }

    private async ValueTask<Ec2EniProvider> BuildFromImdsAsync(CancellationToken cancellationToken)
    {
        await _building.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_provider is { } raced)
            {
                return raced;
            }

            string region;
            try
            {
                region = await _imds.GetRegionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ImdsException ex)
            {
                throw new InvalidSettingException("AWS_REGION", "", $"is not set and IMDS did not tell the region ({ex.Message})");
            }

            return Build(region);
        }
        finally
        {
            _building.Release();
        }
    }

    private Ec2EniProvider Build(string region)
    {
        var ec2 = Ec2ClientFactory.Create(_options, region, _credentials);
        _ec2 = ec2;
        var provider = new Ec2EniProvider(ec2, _imds, _options, _time, _loggers.CreateLogger<Ec2EniProvider>(), _priority, _membership);
        Volatile.Write(ref _provider, provider);
        return provider;
    }
}
