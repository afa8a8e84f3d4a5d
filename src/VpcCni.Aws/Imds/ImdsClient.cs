using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VpcCni.Aws.Imds;

/// <summary>One interface as IMDS describes it under <c>network/interfaces/macs/&lt;mac&gt;/</c>.</summary>
internal sealed record ImdsInterface(
    string MacAddress,
    string InterfaceId,
    int DeviceNumber,
    int NetworkCard,
    string? SubnetId,
    IPNetwork? SubnetIPv4Cidr,
    IReadOnlyList<IPAddress> LocalIPv4s,
    IReadOnlyList<IPNetwork> IPv4Prefixes,
    IReadOnlyList<IPAddress> IPv6s,
    IReadOnlyList<IPNetwork> IPv6Prefixes,
    IReadOnlyList<string> SecurityGroupIds)
{
    /// <summary>An interface with no IPv4 and no IPv6 address is EFA-only (upstream's rule).</summary>
    public bool IsEfaOnly => LocalIPv4s.Count == 0 && IPv6s.Count == 0;
}

/// <summary>
/// IMDSv2 client: a session token from <c>PUT /latest/api/token</c> (cached, refreshed before it expires,
/// on the <see cref="TimeProvider"/>), retries with exponential backoff, typed accessors for every path
/// upstream reads, and "not found" (404) answered as none where upstream does so.
/// </summary>
internal sealed class ImdsClient : IDisposable
{
    private const string TokenHeader = "X-aws-ec2-metadata-token";
    private const string TtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    private readonly HttpClient _http;
    private readonly ImdsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _base;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private string? _token;
    private DateTimeOffset _tokenExpires;

    /// <param name="http">Used as is; the caller owns it (an HttpClient without proxy is right for IMDS).</param>
    public ImdsClient(HttpClient http, ImdsOptions options, TimeProvider? timeProvider = null, ILogger<ImdsClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = http;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var endpoint = options.ResolveEndpoint();
        _base = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
    }

    /// <summary>Releases the token lock (the HttpClient belongs to the caller).</summary>
    public void Dispose() => _tokenLock.Dispose();

    /// <summary>The base address in use.</summary>
    public Uri Endpoint => _base;

    /// <summary>Reads <c>/latest/meta-data/&lt;path&gt;</c>; null when IMDS answers 404.</summary>
    public async ValueTask<string?> GetMetadataAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var uri = new Uri(_base, "latest/meta-data/" + path.TrimStart('/'));
        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            string reason;
            try
            {
                var token = await GetTokenAsync(forceRefresh: false, cancellationToken).ConfigureAwait(false);
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Add(TokenHeader, token);
                using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                }

                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return null;
                }

                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    // The token expired or IMDS restarted: get a new one at once.
                    _token = null;
                }

                reason = $"HTTP {(int)response.StatusCode}";
                if (response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
                {
                    throw new ImdsException($"IMDS refused GET {uri.AbsolutePath}: {reason}", (int)response.StatusCode);
                }
            }
            catch (HttpRequestException e)
            {
                reason = e.Message;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                reason = "timeout";
            }
            catch (ImdsException e) when (e.StatusCode is not (400 or 403))
            {
                reason = e.Message;
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw new ImdsException($"IMDS GET {uri.AbsolutePath} failed after {attempt} attempts: {reason}", 0);
            }

            AwsLog.ImdsRetry(_logger, path, attempt, reason);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }

    private async ValueTask<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
    }

    private async ValueTask<string> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        // Refresh a minute early (or at half life for short TTLs) so a request never carries a dying token.
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, _options.TokenTtl.Ticks / 2));
        if (!forceRefresh && _token is { } cached && _time.GetUtcNow() < _tokenExpires - margin)
        {
            return cached;
        }

        await _tokenLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!forceRefresh && _token is { } again && _time.GetUtcNow() < _tokenExpires - margin)
            {
                return again;
            }

            var ttl = (int)_options.TokenTtl.TotalSeconds;
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_base, "latest/api/token"));
            request.Headers.Add(TtlHeader, ttl.ToString(CultureInfo.InvariantCulture));
            var issued = _time.GetUtcNow();
            using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ImdsException($"IMDS token request failed: HTTP {(int)response.StatusCode}", (int)response.StatusCode);
            }

            var token = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
            if (token.Length == 0)
            {
                throw new ImdsException("IMDS returned an empty token", (int)response.StatusCode);
            }

            var granted = response.Headers.TryGetValues(TtlHeader, out var values)
                && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : ttl;
            _token = token;
            _tokenExpires = issued + TimeSpan.FromSeconds(granted);
            AwsLog.ImdsTokenRefreshed(_logger, granted);
            return token;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private async ValueTask<string> RequireAsync(string path, CancellationToken cancellationToken) =>
        (await GetMetadataAsync(path, cancellationToken).ConfigureAwait(false))?.Trim()
        ?? throw new ImdsException($"IMDS has no {path}", 404);

    private async ValueTask<IReadOnlyList<string>> LinesAsync(string path, CancellationToken cancellationToken)
    {
        var text = await GetMetadataAsync(path, cancellationToken).ConfigureAwait(false);
        return text is null ? [] : [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    private static string Mac(string mac) => "network/interfaces/macs/" + mac + "/";

    public ValueTask<string> GetInstanceIdAsync(CancellationToken cancellationToken) => RequireAsync("instance-id", cancellationToken);

    public ValueTask<string> GetInstanceTypeAsync(CancellationToken cancellationToken) => RequireAsync("instance-type", cancellationToken);

    public ValueTask<string> GetAvailabilityZoneAsync(CancellationToken cancellationToken) => RequireAsync("placement/availability-zone", cancellationToken);

    /// <summary>The region, from the AZ name (us-west-2a → us-west-2).</summary>
    public async ValueTask<string> GetRegionAsync(CancellationToken cancellationToken)
    {
        var region = await GetMetadataAsync("placement/region", cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrWhiteSpace(region))
        {
            return region.Trim();
        }

        var az = await GetAvailabilityZoneAsync(cancellationToken).ConfigureAwait(false);
        return az.TrimEnd("abcdefghijklmnopqrstuvwxyz".ToCharArray()) is { Length: > 0 } trimmed && trimmed != az ? trimmed : az;
    }

    public ValueTask<string> GetPrimaryMacAsync(CancellationToken cancellationToken) => RequireAsync("mac", cancellationToken);

    public async ValueTask<IPAddress> GetLocalIPv4Async(CancellationToken cancellationToken) =>
        IPAddress.Parse(await RequireAsync("local-ipv4", cancellationToken).ConfigureAwait(false));

    /// <summary>The node's primary IPv6; null when IMDS has none (404).</summary>
    public async ValueTask<IPAddress?> GetIPv6Async(CancellationToken cancellationToken) =>
        await GetMetadataAsync("ipv6", cancellationToken).ConfigureAwait(false) is { } text ? IPAddress.Parse(text.Trim()) : null;

    /// <summary>MACs of the attached interfaces (trailing '/' stripped).</summary>
    public async ValueTask<IReadOnlyList<string>> GetMacsAsync(CancellationToken cancellationToken) =>
        [.. (await LinesAsync("network/interfaces/macs/", cancellationToken).ConfigureAwait(false)).Select(m => m.TrimEnd('/'))];

    /// <summary>Field names listed under the MAC (decides which optional fields exist).</summary>
    public ValueTask<IReadOnlyList<string>> GetInterfaceFieldsAsync(string mac, CancellationToken cancellationToken) =>
        LinesAsync(Mac(mac), cancellationToken);

    public ValueTask<string> GetInterfaceIdAsync(string mac, CancellationToken cancellationToken) => RequireAsync(Mac(mac) + "interface-id", cancellationToken);

    public async ValueTask<int> GetDeviceNumberAsync(string mac, CancellationToken cancellationToken) =>
        int.Parse(await RequireAsync(Mac(mac) + "device-number", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);

    /// <summary>Network card index; 0 when IMDS does not list it (404).</summary>
    public async ValueTask<int> GetNetworkCardAsync(string mac, CancellationToken cancellationToken) =>
        await GetMetadataAsync(Mac(mac) + "network-card", cancellationToken).ConfigureAwait(false) is { } text
            ? int.Parse(text.Trim(), CultureInfo.InvariantCulture) : 0;

    public ValueTask<string> GetSubnetIdAsync(string mac, CancellationToken cancellationToken) => RequireAsync(Mac(mac) + "subnet-id", cancellationToken);

    public ValueTask<string> GetVpcIdAsync(string mac, CancellationToken cancellationToken) => RequireAsync(Mac(mac) + "vpc-id", cancellationToken);

    /// <summary>The subnet's IPv4 CIDR; null on 404.</summary>
    public async ValueTask<IPNetwork?> GetSubnetIPv4CidrAsync(string mac, CancellationToken cancellationToken) =>
        await GetMetadataAsync(Mac(mac) + "subnet-ipv4-cidr-block", cancellationToken).ConfigureAwait(false) is { } text
            ? IPNetwork.Parse(text.Trim()) : null;

    public async ValueTask<IReadOnlyList<IPNetwork>> GetSubnetIPv6CidrsAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "subnet-ipv6-cidr-blocks", cancellationToken).ConfigureAwait(false)).Select(IPNetwork.Parse)];

    public async ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv4CidrsAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "vpc-ipv4-cidr-blocks", cancellationToken).ConfigureAwait(false)).Select(IPNetwork.Parse)];

    public async ValueTask<IReadOnlyList<IPNetwork>> GetVpcIPv6CidrsAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "vpc-ipv6-cidr-blocks", cancellationToken).ConfigureAwait(false)).Select(IPNetwork.Parse)];

    public ValueTask<IReadOnlyList<string>> GetSecurityGroupIdsAsync(string mac, CancellationToken cancellationToken) =>
        LinesAsync(Mac(mac) + "security-group-ids", cancellationToken);

    /// <summary>IPv4 addresses of the interface, its primary first; empty on 404.</summary>
    public async ValueTask<IReadOnlyList<IPAddress>> GetLocalIPv4sAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "local-ipv4s", cancellationToken).ConfigureAwait(false)).Select(IPAddress.Parse)];

    public async ValueTask<IReadOnlyList<IPAddress>> GetIPv6sAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "ipv6s", cancellationToken).ConfigureAwait(false)).Select(IPAddress.Parse)];

    /// <summary>Delegated /28 prefixes; empty on 404.</summary>
    public async ValueTask<IReadOnlyList<IPNetwork>> GetIPv4PrefixesAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "ipv4-prefix", cancellationToken).ConfigureAwait(false)).Select(IPNetwork.Parse)];

    public async ValueTask<IReadOnlyList<IPNetwork>> GetIPv6PrefixesAsync(string mac, CancellationToken cancellationToken) =>
        [.. (await LinesAsync(Mac(mac) + "ipv6-prefix", cancellationToken).ConfigureAwait(false)).Select(IPNetwork.Parse)];

    /// <summary>Every attached interface with its addresses (device number of the primary MAC forced to 0).</summary>
    public async ValueTask<IReadOnlyList<ImdsInterface>> GetInterfacesAsync(CancellationToken cancellationToken)
    {
        var primary = await GetPrimaryMacAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ImdsInterface>();
        foreach (var mac in await GetMacsAsync(cancellationToken).ConfigureAwait(false))
        {
            var fields = await GetInterfaceFieldsAsync(mac, cancellationToken).ConfigureAwait(false);
            bool Has(string f) => fields.Any(x => x.TrimEnd('/') == f);
            result.Add(new ImdsInterface(
                mac,
                await GetInterfaceIdAsync(mac, cancellationToken).ConfigureAwait(false),
                mac == primary ? 0 : await GetDeviceNumberAsync(mac, cancellationToken).ConfigureAwait(false),
                Has("network-card") ? await GetNetworkCardAsync(mac, cancellationToken).ConfigureAwait(false) : 0,
                Has("subnet-id") ? await GetSubnetIdAsync(mac, cancellationToken).ConfigureAwait(false) : null,
                await GetSubnetIPv4CidrAsync(mac, cancellationToken).ConfigureAwait(false),
                Has("local-ipv4s") ? await GetLocalIPv4sAsync(mac, cancellationToken).ConfigureAwait(false) : [],
                Has("ipv4-prefix") ? await GetIPv4PrefixesAsync(mac, cancellationToken).ConfigureAwait(false) : [],
                Has("ipv6s") ? await GetIPv6sAsync(mac, cancellationToken).ConfigureAwait(false) : [],
                Has("ipv6-prefix") ? await GetIPv6PrefixesAsync(mac, cancellationToken).ConfigureAwait(false) : [],
                await GetSecurityGroupIdsAsync(mac, cancellationToken).ConfigureAwait(false)));
        }

        return result;
    }
}

/// <summary>IMDS could not answer.</summary>
internal sealed class ImdsException(string message, int statusCode) : Exception(message)
{
    /// <summary>HTTP status, or 0 for a transport failure.</summary>
    public int StatusCode { get; } = statusCode;
}
