using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>A throw-away CA and the server and client certificates it signs (ECDSA P-256, valid a day around now).</summary>
internal sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestCertificates(string name = "vpc-cni test CA")
    {
        var request = new CertificateRequest("CN=" + name, _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>The CA certificate (with its key).</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>The CA as kubeconfig's certificate-authority-data (base64 of the PEM).</summary>
    public string CaData => Base64(Ca.ExportCertificatePem());

    /// <summary>A server certificate for the given IP addresses and DNS names, loaded as a server can use it.</summary>
    public X509Certificate2 Server(IEnumerable<IPAddress> addresses, params string[] dnsNames)
    {
        var names = new SubjectAlternativeNameBuilder();
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        foreach (var dns in dnsNames)
        {
            names.AddDnsName(dns);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = Leaf("CN=kube-apiserver", key, ServerAuth);
        request.CertificateExtensions.Add(names.Build());
        using var signed = Sign(request, key);
        // A PKCS#12 round trip gives the server a persisted key (an ephemeral one is not usable by every TLS stack).
        return X509CertificateLoader.LoadPkcs12(signed.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A client certificate: its PEM and its key's PEM (PKCS#8), as a kubeconfig carries them.</summary>
    public (string CertificatePem, string KeyPem) Client(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signed = Sign(Leaf("CN=" + commonName, key, ClientAuth), key);
        return (signed.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        Ca.Dispose();
        _caKey.Dispose();
    }

    private static CertificateRequest Leaf(string subject, ECDsa key, Oid usage)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        return request;
    }

    private X509Certificate2 Sign(CertificateRequest request, ECDsa key)
    {
        var serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7F;
        using var certificate = request.Create(Ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        return certificate.CopyWithPrivateKey(key);
    }
}
