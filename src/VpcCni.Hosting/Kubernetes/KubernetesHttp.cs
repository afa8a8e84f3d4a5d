using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The daemon's API calls (list, merge patch, create, watch) over the library's authenticated HttpClient, with the
/// source-generated shapes of <see cref="KubernetesWireContext"/>. The library configures the connection (service
/// account, kubeconfig with its auth plugins, TLS); its typed calls are not used, so Native AOT drops its model and
/// serializer graph (about 14 MB of image and 20 MB of resident memory at start, measured).
/// </summary>
internal sealed class KubernetesHttp
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue MergePatch = new("application/merge-patch+json");
    private readonly k8s.Kubernetes _client;

    private KubernetesHttp(k8s.Kubernetes client) => _client = client;

    /// <summary>The calls over <paramref name="client"/> (a <see cref="k8s.Kubernetes"/>: its HttpClient and credentials are used).</summary>
    public static KubernetesHttp For(IKubernetes client) =>
        new(client as k8s.Kubernetes ?? throw new ArgumentException("the Kubernetes API calls need a k8s.Kubernetes client", nameof(client)));

    /// <summary>GET <paramref name="pathAndQuery"/> (relative to the server), decoded as <typeparamref name="T"/>.</summary>
    public async Task<T> GetAsync<T>(string pathAndQuery, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Address(pathAndQuery));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync(body, type, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException($"GET {pathAndQuery}: the body decoded to null");
        }
    }

    /// <summary>PATCH <paramref name="path"/> with a JSON merge patch (RFC 7386).</summary>
    public async Task MergePatchAsync(string path, string patch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, Address(path))
        {
            Content = new StringContent(patch, Encoding.UTF8, MergePatch),
        };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST <paramref name="body"/> to <paramref name="path"/> (a create).</summary>
    public async Task PostAsync<T>(string path, T body, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Address(path))
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type)) { Headers = { ContentType = Json } },
        };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends with the connection's credentials; an error status throws <see cref="KubernetesApiException"/>.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var response = await _client.HttpClient.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new KubernetesApiException((int)response.StatusCode,
                $"{request.Method} {request.RequestUri?.AbsolutePath}: {(int)response.StatusCode} {response.ReasonPhrase} {Truncate(text)}");
        }
    }

    private Uri Address(string pathAndQuery) => new(_client.BaseUri, pathAndQuery);

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
