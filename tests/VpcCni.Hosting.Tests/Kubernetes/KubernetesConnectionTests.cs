using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class KubernetesConnectionTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-kubeconn-").FullName;
    private readonly TestCertificates _pki = new();

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task SendAsync_TokenProvider_AskedOnEveryRequest()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("2"));
        var tokens = new CountingTokens();
        using var connection = KubernetesConnection.FromConfiguration(
            new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), TokenProvider = tokens, AccessToken = "ignored" }, "test");

        await connection.ListNodesAsync("metadata.name=n", Ct);
        await connection.ListNodesAsync("metadata.name=n", Ct);

        server.RequestsTo("/api/v1/nodes").Select(r => r.Authorization).Should().Equal(["Bearer token-1", "Bearer token-2"], "a rotated token is used from the next request on");
    }

    [Fact]
    public async Task SendAsync_AccessTokenOrBasicAuth_SentAsConfigured()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("2"));
        using var bearer = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), AccessToken = "static" }, "test");
        using var basic = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), Username = "admin", Password = "secret" }, "test");

        await bearer.ListNodesAsync("metadata.name=n", Ct);
        await basic.ListNodesAsync("metadata.name=n", Ct);

        server.RequestsTo("/api/v1/nodes").Select(r => r.Authorization).Should().Equal("Bearer static", "Basic " + Convert.ToBase64String("admin:secret"u8));
    }

    [Fact]
    public async Task SendAsync_ErrorStatus_KubernetesApiExceptionWithCodeAndStatusMessage()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        server.EnqueueList("/api/v1/nodes",
            """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes is forbidden: User \"system:serviceaccount:kube-system:aws-node\" cannot list resource \"nodes\"","reason":"Forbidden","code":403}""",
            status: 403);
        using var connection = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() }, "test");

        var call = () => connection.ListNodesAsync("metadata.name=n", Ct);

        var thrown = (await call.Should().ThrowAsync<KubernetesApiException>()).Which;
        thrown.StatusCode.Should().Be(403);
        thrown.Message.Should().Contain("nodes is forbidden").And.Contain("403");
        KubernetesConnection.StatusOf(thrown).Should().Be(403);
    }

    [Fact]
    public async Task SendAsync_ErrorStatusWithoutAStatusBody_MessageIsTheBody()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        server.EnqueueList("/api/v1/nodes", "upstream connect error", status: 502);
        using var connection = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() }, "test");

        var call = () => connection.ListNodesAsync("metadata.name=n", Ct);

        var thrown = (await call.Should().ThrowAsync<KubernetesApiException>()).Which;
        thrown.StatusCode.Should().Be(502);
        thrown.Message.Should().Contain("upstream connect error");
    }

    [Fact]
    public async Task ListAsync_PodsOverSeveralPages_FollowsTheContinueToken()
    {
        await using var server = await ScriptedKubeServer.StartAsync();
        server.EnqueueList("/api/v1/pods",
            """{"kind":"PodList","metadata":{"resourceVersion":"7","continue":"page-2"},"items":[""" + KubeJson.Pod("a", "p1", "5") + "]}");
        server.EnqueueList("/api/v1/pods", KubeJson.PodList("8", KubeJson.Pod("b", "p2", "6", podIps: "10.0.0.9")));
        using var connection = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() }, "test");

        var list = await new NodePodsListWatch(connection, "node-1").ListAsync(Ct);

        list.Items.Select(p => p.Key).Should().Equal("a/p1", "b/p2");
        list.Items[1].PodIpsAnnotation.Should().Be("10.0.0.9");
        list.ResourceVersion.Should().Be("8");
        var requests = server.RequestsTo("/api/v1/pods");
        requests.Should().HaveCount(2);
        requests[0].Query.Should().Contain("fieldSelector", "spec.nodeName=node-1").And.Contain("limit", "500").And.NotContainKey("continue");
        requests[1].Query.Should().Contain("continue", "page-2");
    }

    [Fact]
    public async Task Tls_ServerSignedByTheConfiguredCa_Accepted()
    {
        using var serverCertificate = _pki.Server([IPAddress.Loopback]);
        await using var server = await ScriptedKubeServer.StartAsync(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate });
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        using var connection = KubernetesConnection.FromConfiguration(
            new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), SslCaCerts = [X509CertificateLoader.LoadCertificate(_pki.Ca.RawData)] }, "test");

        var list = await connection.ListNodesAsync("metadata.name=n", Ct);

        list.Metadata!.ResourceVersion.Should().Be("1");
    }

    [Fact]
    public async Task Tls_NoCaOrAnotherCa_Refused()
    {
        using var serverCertificate = _pki.Server([IPAddress.Loopback]);
        using var otherPki = new TestCertificates("another CA");
        await using var server = await ScriptedKubeServer.StartAsync(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate });
        using var systemTrust = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString() }, "test");
        using var otherCa = KubernetesConnection.FromConfiguration(
            new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), SslCaCerts = [X509CertificateLoader.LoadCertificate(otherPki.Ca.RawData)] }, "test");

        var withSystemTrust = () => systemTrust.ListNodesAsync("metadata.name=n", Ct);
        var withOtherCa = () => otherCa.ListNodesAsync("metadata.name=n", Ct);

        await withSystemTrust.Should().ThrowAsync<HttpRequestException>("the test CA is not in the system's trust store");
        await withOtherCa.Should().ThrowAsync<HttpRequestException>("only the configured CA is trusted");
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Tls_SkipTlsVerify_AcceptsAnyServer()
    {
        using var serverCertificate = _pki.Server([IPAddress.Loopback]);
        await using var server = await ScriptedKubeServer.StartAsync(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate });
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        using var connection = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), SkipTlsVerify = true }, "test");

        var list = await connection.ListNodesAsync("metadata.name=n", Ct);

        list.Metadata!.ResourceVersion.Should().Be("1");
    }

    [Fact]
    public async Task Tls_TlsServerName_CertificateCheckedForThatName()
    {
        using var serverCertificate = _pki.Server([], "kube.internal");
        await using var server = await ScriptedKubeServer.StartAsync(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate });
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        X509Certificate2Collection Ca() => [X509CertificateLoader.LoadCertificate(_pki.Ca.RawData)];
        using var byName = KubernetesConnection.FromConfiguration(
            new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), SslCaCerts = Ca(), TlsServerName = "kube.internal" }, "test");
        using var byAddress = KubernetesConnection.FromConfiguration(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), SslCaCerts = Ca() }, "test");

        var withoutName = () => byAddress.ListNodesAsync("metadata.name=n", Ct);
        await withoutName.Should().ThrowAsync<HttpRequestException>("the certificate does not name 127.0.0.1");
        var list = await byName.ListNodesAsync("metadata.name=n", Ct);

        list.Metadata!.ResourceVersion.Should().Be("1");
    }

    [Fact]
    public async Task Create_KubeconfigWithClientCertificateData_PresentsTheCertificate()
    {
        var (certificatePem, keyPem) = _pki.Client("system:node:ip-10-0-0-1");
        await using var server = await StartMutualTlsServerAsync();
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        var kubeconfig = WriteKubeconfig(server.BaseAddress, $"""
                client-certificate-data: {TestCertificates.Base64(certificatePem)}
                client-key-data: {TestCertificates.Base64(keyPem)}
            """);

        using var connection = KubernetesConnection.Create(new KubernetesApiSettings { NodeName = "n" }.WithKubeconfig(kubeconfig), TimeProvider.System);
        await connection.ListNodesAsync("metadata.name=n", Ct);

        server.RequestsTo("/api/v1/nodes").Should().ContainSingle().Which.ClientCertificate.Should().Be("CN=system:node:ip-10-0-0-1");
    }

    [Fact]
    public async Task Create_KubeconfigWithClientCertificateFiles_PresentsTheCertificate()
    {
        var (certificatePem, keyPem) = _pki.Client("from-files");
        File.WriteAllText(Path.Combine(_dir, "client.crt"), certificatePem);
        File.WriteAllText(Path.Combine(_dir, "client.key"), keyPem);
        await using var server = await StartMutualTlsServerAsync();
        server.EnqueueList("/api/v1/nodes", KubeJson.NodeList("1"));
        var kubeconfig = WriteKubeconfig(server.BaseAddress, """
                client-certificate: client.crt
                client-key: client.key
            """);

        using var connection = KubernetesConnection.Create(new KubernetesApiSettings { NodeName = "n" }.WithKubeconfig(kubeconfig), TimeProvider.System);
        await connection.ListNodesAsync("metadata.name=n", Ct);

        server.RequestsTo("/api/v1/nodes").Should().ContainSingle().Which.ClientCertificate.Should().Be("CN=from-files");
    }

    private async Task<ScriptedKubeServer> StartMutualTlsServerAsync()
    {
        var serverCertificate = _pki.Server([IPAddress.Loopback]);
        return await ScriptedKubeServer.StartAsync(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = serverCertificate,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            // The test checks which certificate arrived, not the server's client-CA policy.
            ClientCertificateValidation = (_, _, _) => true,
        });
    }

    /// <summary>A kubeconfig naming the server and the test CA, with <paramref name="user"/> as the user's fields (indented 8).</summary>
    private string WriteKubeconfig(Uri server, string user)
    {
        var path = Path.Combine(_dir, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {server}
                certificate-authority-data: {_pki.CaData}
            users:
            - name: test
              user:
            {user}
            contexts:
            - name: test
              context:
                cluster: test
                user: test
            current-context: test
            """);
        return path;
    }

    private sealed class CountingTokens : ITokenProvider
    {
        private int _calls;

        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new AuthenticationHeaderValue("Bearer", "token-" + Interlocked.Increment(ref _calls)));
    }
}
