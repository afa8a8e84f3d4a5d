using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The daemon's client of the API server: KubernetesClient.Aot configured from <see cref="KubernetesApiSettings"/>
/// (service account with a rotating token and the cluster CA, a kubeconfig, or an explicit server), for typed calls,
/// plus the watch streams the library does not offer in its AOT build, read over the same authenticated HttpClient.
/// </summary>
internal sealed class KubernetesConnection : IDisposable
{
    private readonly k8s.Kubernetes _client;

    private KubernetesConnection(k8s.Kubernetes client, string description)
    {
        _client = client;
        Description = description;
    }

    public IKubernetes Client => _client;

    public string Description { get; }

    /// <summary>Builds the client; a missing or malformed kubeconfig, token or CA fails here (at start).</summary>
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

        // Per-call deadlines come from cancellation tokens; a watch stream must outlive any client-wide timeout.
        config.HttpClientTimeout = Timeout.InfiniteTimeSpan;
        config.UserAgent = "vpc-cni-ipamd";
        return new KubernetesConnection(new k8s.Kubernetes(config), settings.ToString());
    }

    /// <summary>
    /// A watch (GET with watch=1) of <paramref name="path"/>: one decoded event per line until the server closes the
    /// stream. An HTTP error status throws <see cref="KubernetesApiException"/> (410 included).
    /// </summary>
    public async IAsyncEnumerable<WireWatchEvent> WatchAsync(string path, string query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_client.BaseUri, path + "?watch=1&allowWatchBookmarks=true&" + query));
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var response = await _client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new KubernetesApiException((int)response.StatusCode, $"watch {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {StatusMessage(body)}");
        }

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

    /// <summary>A GET of <paramref name="path"/> decoded as a JSON document; an HTTP error status throws <see cref="KubernetesApiException"/>.</summary>
    public async Task<JsonDocument> GetJsonAsync(string path, string query, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_client.BaseUri, query.Length == 0 ? path : path + "?" + query));
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var response = await _client.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new KubernetesApiException((int)response.StatusCode, $"GET {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {StatusMessage(body)}");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A JSON merge patch (application/merge-patch+json) of <paramref name="path"/>; an error status throws <see cref="KubernetesApiException"/>.</summary>
    public async Task MergePatchAsync(string path, string patch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(_client.BaseUri, path))
        {
            Content = new StringContent(patch, System.Text.Encoding.UTF8, "application/merge-patch+json"),
        };
        request.Content.Headers.ContentType!.CharSet = null;
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var response = await _client.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new KubernetesApiException((int)response.StatusCode, $"PATCH {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {StatusMessage(body)}");
        }
    }

    /// <summary>The status code of a failed typed call (the library throws <see cref="HttpOperationException"/>).</summary>
    public static int? StatusOf(Exception ex) => ex switch
    {
        HttpOperationException { Response: { } response } => (int)response.StatusCode,
        KubernetesApiException api => api.StatusCode,
        _ => null,
    };

    public void Dispose() => _client.Dispose();

    /// <summary>The message of a meta/v1 Status body (what kubectl prints), else the body itself, shortened.</summary>
    internal static string StatusMessage(string body)
    {
        try
        {
            if (JsonSerializer.Deserialize(body, KubernetesWireContext.Default.WireStatus) is { Message: { Length: > 0 } message })
            {
                return Truncate(message);
            }
        }
        catch (JsonException)
        {
        }

        return Truncate(body);
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
