using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Authentication;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The daemon's client of the API server: an <see cref="HttpClient"/> set up from a KubernetesClient.Aot
/// <see cref="KubernetesClientConfiguration"/> (the library only reads the configuration: kubeconfig, or the service
/// account and the cluster CA as we build it; its typed client is not used, see docs/benchmarks.md), with JSON calls
/// through <see cref="SendAsync{T}"/> (or <see cref="GetJsonAsync"/> and <see cref="MergePatchAsync"/> for objects
/// without a wire record) and watch streams through <see cref="WatchAsync"/>. The core/v1 calls are in
/// <see cref="KubernetesApiCalls"/>.
/// </summary>
internal sealed class KubernetesConnection : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly ITokenProvider? _tokens;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly Version _version;

    private KubernetesConnection(HttpClient http, Uri baseUri, ITokenProvider? tokens, AuthenticationHeaderValue? authorization, Version version, string description)
    {
        _http = http;
        _base = baseUri;
        _tokens = tokens;
        _authorization = authorization;
        _version = version;
        Description = description;
    }

    public string Description { get; }

    /// <summary>The server's base URL (always ending in '/': API paths are relative to it).</summary>
    public Uri BaseAddress => _base;

    /// <summary>Builds the connection; a missing or malformed kubeconfig, token, CA or client certificate fails here (at start).</summary>
    public static KubernetesConnection Create(KubernetesApiSettings settings, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(settings);
        KubernetesClientConfiguration config;
        switch (settings.Source)
        {
            case KubernetesApiSource.InCluster:
                var caPath = Path.Combine(settings.ServiceAccountPath, "ca.crt");
                X509Certificate2Collection? ca = null;
                if (File.Exists(caPath))
                {
                    ca = [];
                    ca.ImportFromPemFile(caPath);
                }

                config = new KubernetesClientConfiguration
                {
                    Host = settings.Server!.ToString(),
                    TokenProvider = new ServiceAccountToken(Path.Combine(settings.ServiceAccountPath, "token"), timeProvider),
                    SslCaCerts = ca,
                };
                break;
            case KubernetesApiSource.Kubeconfig:
                config = KubernetesClientConfiguration.BuildConfigFromConfigFile(settings.KubeconfigPath);
                break;
            case KubernetesApiSource.Server:
                config = new KubernetesClientConfiguration { Host = settings.Server!.ToString() };
                break;
            default:
                throw new InvalidOperationException("no Kubernetes API source is configured");
        }

        return FromConfiguration(config, settings.ToString());
    }

    /// <summary>
    /// The connection a configuration describes: server (Host), TLS (SslCaCerts as the only trusted roots, else the
    /// system's; SkipTlsVerify; TlsServerName; a client certificate from data or files) and credentials (TokenProvider
    /// asked on every request, else AccessToken, else Username/Password).
    /// </summary>
    internal static KubernetesConnection FromConfiguration(KubernetesClientConfiguration config, string description)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrWhiteSpace(config.Host) || !Uri.TryCreate(config.Host, UriKind.Absolute, out var host)
            || (host.Scheme != Uri.UriSchemeHttps && host.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"the Kubernetes API server \"{config.Host}\" is not an http:// or https:// URL");
        }

        var baseUri = host.AbsoluteUri.EndsWith('/') ? host : new Uri(host.AbsoluteUri + "/");
        var handler = new SocketsHttpHandler
        {
            // A watch can be quiet for minutes: pings find a dead HTTP/2 connection under it.
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        try
        {
            ConfigureTls(handler, config);
            // Per-call deadlines come from cancellation tokens; a watch stream must outlive any client-wide timeout.
            var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.TryParseAdd(string.IsNullOrEmpty(config.UserAgent) ? "vpc-cni-ipamd" : config.UserAgent);
            if (!string.IsNullOrEmpty(config.TlsServerName))
            {
                // SocketsHttpHandler takes the TLS server name (SNI and the certificate's name) from the Host header.
                http.DefaultRequestHeaders.Host = config.TlsServerName;
            }

            AuthenticationHeaderValue? authorization = null;
            if (config.TokenProvider is null && !string.IsNullOrEmpty(config.AccessToken))
            {
                authorization = new AuthenticationHeaderValue("Bearer", config.AccessToken);
            }
            else if (config.TokenProvider is null && !string.IsNullOrEmpty(config.Username))
            {
                authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(config.Username + ":" + config.Password)));
            }

            return new KubernetesConnection(http, baseUri, config.TokenProvider, authorization,
                config.DisableHttp2 ? HttpVersion.Version11 : HttpVersion.Version20, description);
        }
        catch
        {
            handler.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A JSON call: <paramref name="method"/> on <paramref name="path"/> (relative to the server, query included) with
    /// an optional body, the answer decoded as <typeparamref name="T"/>. An HTTP error status throws
    /// <see cref="KubernetesApiException"/> with the status and the message of the Status the server answered.
    /// </summary>
    public Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T> responseType, CancellationToken cancellationToken) =>
        SendCoreAsync(method, path, body, null, responseType, cancellationToken);

    /// <summary>
    /// A GET of <paramref name="path"/> (query included) with an Accept header (e.g. <see cref="MetadataListAccept"/>:
    /// the API server answers with the objects' metadata only), decoded as <typeparamref name="T"/>.
    /// </summary>
    public Task<T> GetAsync<T>(string path, string accept, JsonTypeInfo<T> responseType, CancellationToken cancellationToken) =>
        SendCoreAsync(HttpMethod.Get, path, null, accept, responseType, cancellationToken);

    private async Task<T> SendCoreAsync<T>(HttpMethod method, string path, HttpContent? body, string? accept, JsonTypeInfo<T> responseType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(responseType);
        using var request = new HttpRequestMessage(method, new Uri(_base, path)) { Content = body };
        Accept(request, accept);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(stream, responseType, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException($"{method} {path}: the answer decoded to null");
        }
    }

    /// <summary>A JSON body for <see cref="SendAsync{T}"/> (application/json).</summary>
    public static HttpContent Json<T>(T value, JsonTypeInfo<T> type) => JsonContent.Create(value, type);

    /// <summary>
    /// A watch (GET with watch=1) of <paramref name="path"/>: one decoded event per line until the server closes the
    /// stream. An HTTP error status throws <see cref="KubernetesApiException"/> (410 included).
    /// </summary>
    /// <param name="path">The collection (relative to the server).</param>
    /// <param name="query">The query without '?' (selectors, resourceVersion, timeoutSeconds).</param>
    /// <param name="accept">An Accept header (e.g. <see cref="MetadataAccept"/>); null for plain JSON.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<WireWatchEvent> WatchAsync(string path, string query, string? accept, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, path + "?watch=1&allowWatchBookmarks=true&" + query));
        Accept(request, accept);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                yield return JsonSerializer.Deserialize(line, KubernetesWireContext.Default.WireWatchEvent)
                    ?? throw new JsonException("a watch line decoded to null");
            }
        }
    }

    /// <summary>A GET of <paramref name="path"/> (query without '?', may be empty) decoded as a JSON document, for objects without a wire record.</summary>
    public async Task<JsonDocument> GetJsonAsync(string path, string query, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, query.Length == 0 ? path : path + "?" + query));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A JSON merge patch (application/merge-patch+json) of <paramref name="path"/>; the answer's body is not read.</summary>
    public async Task MergePatchAsync(string path, string patch, CancellationToken cancellationToken)
    {
        var body = new StringContent(patch, Encoding.UTF8);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(_base, path)) { Content = body };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks for a list's objects as meta/v1 PartialObjectMetadata (metadata only, as client-go's metadata informer does),
    /// else plain JSON: a server that cannot answer so sends the full objects, which decode alike.
    /// </summary>
    public const string MetadataListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

    /// <summary>The same for an object or a watch's events.</summary>
    public const string MetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

    /// <summary>The status code of a failed call (null: the call failed without an answer, e.g. connection refused).</summary>
    public static int? StatusOf(Exception ex) => ex is KubernetesApiException { StatusCode: > 0 } api ? api.StatusCode : null;

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        request.Version = _version;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        if (_tokens is not null)
        {
            // Asked on every request: the service-account token rotates, an exec plugin's token expires.
            request.Headers.Authorization = await _tokens.GetAuthenticationHeaderAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (_authorization is not null)
        {
            request.Headers.Authorization = _authorization;
        }

        var response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            throw new KubernetesApiException(code, $"{request.Method} {request.RequestUri?.PathAndQuery}: {code} {response.ReasonPhrase}: {StatusMessage(body)}");
        }
    }

    /// <summary>The message of a meta/v1 Status body (what kubectl prints), else the body itself; shortened.</summary>
    internal static string StatusMessage(string body)
    {
        try
        {
            if (JsonSerializer.Deserialize(body, KubernetesWireContext.Default.WireStatus) is { } status
                && (status.Message ?? status.Reason) is { Length: > 0 } message)
            {
                return Truncate(message);
            }
        }
        catch (JsonException)
        {
            // Not a Status (a proxy's HTML page, plain text): the text itself says more.
        }

        return Truncate(body);
    }

    private static void Accept(HttpRequestMessage request, string? accept)
    {
        if (!string.IsNullOrEmpty(accept))
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private static void ConfigureTls(SocketsHttpHandler handler, KubernetesClientConfiguration config)
    {
        if (config.SkipTlsVerify)
        {
            // insecure-skip-tls-verify: the kubeconfig's owner asked for it (kubectl does the same).
#pragma warning disable CA5359
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (config.SslCaCerts is { Count: > 0 } ca)
        {
            // The cluster CA is the only trusted root (as kubectl with certificate-authority), not added to the system's.
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(ca);
            handler.SslOptions.CertificateChainPolicy = policy;
        }

        if (ClientCertificate(config) is { } certificate)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }
    }

    /// <summary>The client certificate of a kubeconfig user: base64 PEM data, else PEM files; a certificate without a key is an error.</summary>
    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        var certificate = Pem(config.ClientCertificateData, config.ClientCertificateFilePath);
        if (certificate is null)
        {
            return null;
        }

        var key = Pem(config.ClientCertificateKeyData, config.ClientKeyFilePath)
            ?? throw new InvalidOperationException("the Kubernetes client certificate has no key (client-key-data or client-key)");
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    private static string? Pem(string? base64, string? path) =>
        !string.IsNullOrEmpty(base64) ? Encoding.UTF8.GetString(Convert.FromBase64String(base64))
        : !string.IsNullOrEmpty(path) ? File.ReadAllText(path)
        : null;
}
